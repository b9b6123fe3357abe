# The directory pages and the Secretariat's staff accounts, in English.

## Member states
directory-title = Directory
directory-intro = The OAS Member States and their points of contact under CBM #2. Times are shown to each state's points of contact in its time zone.
directory-add-poc = Add a point of contact
directory-col-state = Member State
directory-col-participating = Participates in CBM #2
directory-col-time-zone = Time zone
directory-col-active-pocs = Active points of contact
directory-yes = Yes
directory-no = No
directory-no-policy-poc = No active policy point of contact
directory-back = Back to the directory
directory-state-pocs = Points of contact
directory-show-all = Show deactivated points of contact too
directory-active-only = Show active points of contact only
directory-no-pocs = This state has no points of contact in the directory.
directory-next-page = More points of contact
directory-secretariat-only = Only the CICTE Secretariat changes this part of the directory.
directory-done-added = The point of contact was added.
directory-done-saved = The changes were saved.
directory-done-confirmed = The details were confirmed as current.
directory-done-deactivated = The point of contact was deactivated.
directory-done-removed = The staff account was removed; its sessions have ended.
directory-done-state-saved = The state's settings were saved.
directory-done-staff-added = The staff account was added. Its holder signs in with a link sent to that address.
directory-invalid-member_state = Choose an OAS Member State.
directory-invalid-name = Enter a name (at most 200 characters, on one line).
directory-invalid-affiliation = Enter the institution (at most 300 characters, on one line).
directory-invalid-role = Choose a role.
directory-invalid-email = Enter an e-mail address, such as name@ministry.gov.
directory-invalid-phone = Enter a telephone number such as +56 2 2827 4200: digits, spaces and + - . ( ), 5 to 20 digits.
directory-invalid-languages = Enter two-letter language codes separated by commas, such as es, en (each once, at most 10).
directory-invalid-time_zone = Enter an IANA time zone exactly as written in the list, such as America/Santiago.
directory-invalid-participating = Tick the box or leave it empty.

## A state's settings (Secretariat)
state-form-title = Participation and time zone
state-form-participating = This state participates in CBM #2
state-form-participating-hint = A state that does not participate can neither send nor receive inquiries.
state-form-time_zone = Time zone
state-form-time_zone-hint = The IANA name of the capital's time zone, such as America/Santiago.
state-form-submit = Save

## Points of contact
poc-col-name = Name and institution
poc-col-role = Role
poc-col-contact = Contact
poc-col-languages = Languages
poc-col-confirmed = Last confirmed
poc-col-state = Member State
poc-deactivated = Deactivated
poc-deactivated-at = Deactivated on
poc-stale = Not confirmed for a year
poc-back = Back to { $state }
poc-member_state = Member State
poc-name = Name
poc-affiliation = Institution
poc-role = Role
poc-email = E-mail address
poc-email-hint = Sign-in links and inquiries are sent here.
poc-phone = Telephone
poc-phone-hint = Optional. In international form, such as +56 2 2827 4200.
poc-languages = Languages
poc-languages-hint = Two-letter codes, most preferred first, separated by commas: es, en. cbm2 writes in the first of English, Spanish, French and Portuguese listed.
poc-new-title = Add a point of contact
poc-new-intro = Add a person a Member State has designated. They can sign in with this e-mail address at once.
poc-new-submit = Add the point of contact
poc-edit-title = Change the details
poc-edit-own-note = Your state and your role are changed by the CICTE Secretariat.
poc-edit-submit = Save the changes
poc-confirm-title = Confirm the details
poc-confirm-own = Once a year, confirm that your details above are still right.
poc-confirm-other = Record that these details were checked with the point of contact.
poc-confirm-submit = The details are current
poc-deactivate-title = Deactivate
poc-deactivate-text = A deactivated point of contact receives nothing more and can no longer sign in. The record and its history are kept.
poc-deactivate-submit = Deactivate the point of contact

## Staff accounts
staff-title = Secretariat staff
staff-intro = The people of the CICTE Secretariat who may sign in. They see the directory and when things happen in inquiries, never what the states write.
staff-col-name = Name
staff-col-email = E-mail address
staff-col-added = Added
staff-col-actions = Actions
staff-remove = Remove { $name }
staff-add-title = Add a staff account
staff-email = E-mail address
staff-name = Name
staff-add-submit = Add the account
staff-duplicate-email = An active staff account already has this e-mail address.
