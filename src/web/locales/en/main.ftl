# cbm2's pages in English. Keys are named after page and element. Every key exists in
# es, fr and pt too (a test fails otherwise).

site-name = cbm2
site-tagline = OAS Cyber Confidence-Building Measure #2
format-datetime = %-d %B %Y, %H:%M

## Layout
layout-skip = Skip to content
layout-nav = Main
nav-dashboard = Dashboard
nav-checks = Communication checks
nav-staff = Staff
nav-inbox = Inbox
nav-new-inquiry = New inquiry
nav-directory = Directory
nav-account = Account
layout-signed-in-as = Signed in as { $name }
layout-secretariat = CICTE Secretariat
layout-sign-out = Sign out
layout-language = Language
layout-language-change = Change
layout-footer = cbm2 carries inquiries between the points of contact of the OAS Member States under CBM #2 (paragraph 78 of AG/RES. 2925 (XLVIII-O/18)). An inquiry is not an accusation.
language-en = English
language-es = Español
language-fr = Français
language-pt = Português

## Errors
error-not-found-title = Page not found
error-not-found-text = There is no such page, or it is not yours to see. Check the address, or start again from your inbox.
error-forbidden-title = Not allowed
error-stale-form-title = This form has expired
error-stale-form-text = The form was opened in another session or has expired. Go back, reload the page and send it again.
error-bad-request-title = This address is not valid
error-bad-request-text = The page cannot read this address. Start again from your inbox.
error-internal-title = Something went wrong
error-internal-text = cbm2 could not show this page. Nothing was lost; try again in a moment. If it happens again, tell your administrator.
error-too-many-title = Too many requests
error-too-many-text = Too many requests came from here in a short time. Wait { $seconds } seconds, then try again.
error-home = Go to the start page

## Signing in
sign-in-title = Sign in
sign-in-intro = cbm2 sends a sign-in link to the e-mail address the directory of points of contact holds for you. No password is needed.
sign-in-email = E-mail address
sign-in-email-hint = The address under which your state registered you as a point of contact, or your Secretariat account.
sign-in-email-invalid = Enter an e-mail address, such as name@ministry.gov.
sign-in-send = Send me a sign-in link
sign-in-no-account = Not in the directory? Ask your state's policy point of contact or the CICTE Secretariat to register you.
sign-in-sent-title = Check your e-mail
sign-in-sent-text = If { $email } belongs to a point of contact or a Secretariat account, a sign-in link is on its way to it.
sign-in-sent-expiry = The link works once, within 15 minutes. If no e-mail arrives, check your spam folder or ask for a new link.
sign-in-sent-again = Ask for a new link
sign-in-continue-title = Continue to cbm2
sign-in-continue-text = Press the button to sign in on this device.
sign-in-continue-button = Continue
sign-in-continue-invalid = This sign-in link has been used or has expired. Links work once, within 15 minutes.

## Inbox
inbox-title = Inbox
inbox-filters = Filter inquiries
inbox-side = Direction
inbox-side-all = Incoming and outgoing
inbox-side-incoming = Incoming (to my state)
inbox-side-outgoing = Outgoing (from my state)
inbox-status = Status
inbox-status-any = Any status
inbox-overdue-only = Past their deadline only
inbox-apply = Apply
inbox-empty = No inquiries match.
inbox-col-inquiry = Inquiry
inbox-col-state = Other state
inbox-col-status = Status
inbox-col-deadline = Deadline
inbox-col-updated = Last change
inbox-incoming = Incoming
inbox-outgoing = Outgoing
inbox-next-page = Older inquiries

## Statuses and badges
status-draft = Draft
status-poc_identified = Point of contact identified
status-cbm2_invoked = CBM #2 invoked
status-incident_described = Incident described
status-awaiting_response = Awaiting response
status-acknowledged = Acknowledged
status-responded = Responded
status-closed = Closed
status-withdrawn = Withdrawn
duration-days = { $n ->
    [one] { $n } day
   *[other] { $n } days
}
duration-hours = { $n ->
    [one] { $n } hour
   *[other] { $n } hours
}
duration-minutes = { $n ->
    [one] { $n } minute
   *[other] { $n } minutes
}
badge-exercise = Exercise
badge-overdue = Past deadline
sensitivity-routine = Routine
sensitivity-urgent = Urgent
sensitivity-critical = Critical
channel-phone = Telephone
channel-email = E-mail
channel-meeting = Meeting
channel-other = Other
poc-role-policy = policy
poc-role-technical = technical
poc-role-mfa = foreign affairs

## Inquiry page
inquiry-title = Inquiry
inquiry-exercise-banner = EXERCISE: this inquiry is part of an exercise, not a real incident.
inquiry-done = Recorded: { $action }.
inquiry-steps = Steps of the inquiry
inquiry-summary = Summary
inquiry-requesting-state = Requesting state
inquiry-responding-state = Responding state
inquiry-time-sensitivity = Time sensitivity
inquiry-created = Opened
inquiry-sent = Sent
inquiry-acknowledged = Acknowledged
inquiry-responded = Responded
inquiry-ended = Ended
inquiry-due = Deadline
inquiry-protocol = Protocol
inquiry-version = record version { $version }
inquiry-metadata-only = The Secretariat sees when things happened, never what the states wrote.
inquiry-record = The inquiry
inquiry-requester = Requesting point of contact
inquiry-responding-pocs = Responding points of contact
inquiry-contact-provided = given on { $at }
inquiry-contact-awaited = asked for, not given yet
inquiry-shared-with = Shared with
inquiry-invocation = Invocation of CBM #2
inquiry-logged-contacts = Contacts outside cbm2
inquiry-timeline = Timeline
inquiry-chain-position = Audit log entry { $seq }
inquiry-due-local = { $state }: { $time }
inquiry-working-days = { $days } working days of the responding state
inquiry-signed-record = Download the signed record (JSON)
inquiry-signed-record-hint = signed by this instance; anyone can check it offline with cbm2 audit verify-record and the instance's public key
action-attach-title = Attach a file as evidence
action-attach-submit = Attach the file
inquiry-evidence = Evidence
inquiry-evidence-size = { $size } bytes
inquiry-evidence-sha256 = SHA-256 { $hash }
inquiry-evidence-file = File
inquiry-evidence-hint = At most { $limit }. Accepted types: { $types }. The other state sees its name, type, size and SHA-256, and downloads it; the Secretariat sees only that a file is attached.
inquiry-evidence-count = Files attached: { $count } (their names and contents are for the two states only)
inquiry-attach-no-file = Choose a file to attach.
inquiry-actions = What you can do now
inquiry-review-before-sending = Review the invocation and the description above: sending delivers them to the responding state's points of contact.
inquiry-changed = The inquiry changed since you opened this page. It is shown as it is now: check it, then send your form again.

## Events
event-created = Draft opened
event-lookup_poc = Point of contact looked up
event-invoke = CBM #2 invoked
event-describe = Incident described
event-request_info = Information requested (sent)
event-acknowledge = Acknowledged
event-update = Update
event-respond = Response
event-follow_up = Follow-up
event-close = Closed
event-withdraw = Withdrawn
event-remind = Reminder from the Secretariat
event-deadline_reminder = Deadline approaching
event-deadline_missed = Deadline missed
event-message = Message
event-log_contact = Contact outside cbm2 logged
event-share = Shared within the state
event-unshare = No longer shared
event-attachment_added = File attached
actor-secretariat = CICTE Secretariat
actor-engine = cbm2
actor-unknown = Unknown

## Action forms
action-lookup_poc-title = 1. Choose the responding state
action-lookup_poc-submit = Look up its points of contact
field-lookup_poc-member_state = Responding state
field-lookup_poc-member_state-hint = The state from whose territory the activity seems to come. Its policy points of contact come from the directory.
action-invoke-title = 2. Invoke CBM #2
action-invoke-submit = Prepare the invocation
field-invoke-languages = Languages of the invocation
field-invoke-languages-hint = Leave all unticked to use the first language of the responding points of contact.
action-describe-title = 3. Describe the incident
action-describe-submit = Save the description
field-describe-nature = Nature of the activity
field-describe-category = Category
field-describe-sectors = Sectors affected
field-describe-sectors-hint = One a line.
field-describe-observed_from = Observed from
field-describe-observed_to = Observed until
field-describe-indicators = Technical indicators
field-describe-indicators-hint = One a line: the type (ipv4, ipv6, domain, url, hash, email, other), a space, the value. For example: ipv4 203.0.113.7
field-describe-indicators_stix = Indicators as a STIX 2.1 bundle
field-describe-indicators_stix-hint = Optional: paste a bundle exported by your CSIRT's tools (JSON). Its indicators of one comparison, such as [ipv4-addr:value = '203.0.113.7'], are added to those above.
inquiry-indicators-stix = Download as STIX 2.1 (TLP:AMBER+STRICT)
action-request_info-title = 4. Request information and send
action-request_info-submit = Send the inquiry
field-request_info-questions = Questions
field-request_info-contact = Your contact details
field-request_info-contact-hint = From your directory record; change them if needed.
field-request_info-time_sensitivity = Time sensitivity
field-request_info-respond_by = Respond by (optional)
field-request_info-respond_by-hint = In your time zone. Leave empty for the deadline of the time sensitivity.
action-acknowledge-title = Acknowledge
action-acknowledge-submit = Send the acknowledgement
field-acknowledge-estimated_timeframe = Estimated time to respond
field-acknowledge-estimated_timeframe-hint = In days and hours, or give a date below.
field-acknowledge-estimated_working_days = Or: working days of your state
field-acknowledge-estimated_working_days-hint = Counted in your state's working days, skipping its weekends and holidays; the deadline is when your working day closes.
field-acknowledge-respond_by = Or respond by
field-acknowledge-message = Message
field-acknowledge-contact_requested = Ask for the requester's contact details
action-update-title = Send an update
action-update-submit = Send the update
field-update-message = Message
field-update-estimated_timeframe = New estimated time to respond
field-update-respond_by = Or respond by
field-update-reason = Reason for the change
action-respond-title = Respond
action-respond-submit = Send the response
field-respond-information = Information
field-respond-third_states = Other states involved
action-follow_up-title = Follow up
action-follow_up-submit = Send the follow-up
field-follow_up-questions = Questions
field-follow_up-time_sensitivity = Time sensitivity
field-follow_up-respond_by = Respond by (optional)
action-close-title = Close the inquiry
action-close-submit = Close
field-close-resolution = Resolution
action-withdraw-title = Withdraw the inquiry
action-withdraw-submit = Withdraw
field-withdraw-reason = Reason
action-remind-title = Remind the responding state
action-remind-submit = Send a reminder
action-message-title = Send a message
action-message-submit = Send the message
field-message-text = Message
field-message-contact = Contact details to give (optional)
action-log_contact-title = Log a contact outside cbm2
action-log_contact-submit = Log the contact
field-log_contact-channel = Channel
field-log_contact-at = When
field-log_contact-summary = Summary
action-share-title = Share with a colleague of your state
action-share-submit = Share
field-share-poc_id = Point of contact
action-unshare-title = Stop sharing
action-unshare-submit = Stop sharing
field-unshare-poc_id = Point of contact
form-required = (required)
form-choose = Choose…
form-part-days = Days
form-part-hours = Hours
form-part-name = Name
form-part-email = E-mail
form-part-phone = Telephone
form-error-whole-number = Enter a whole number from 0 to 10000.
form-error-datetime = Enter a date and time that exists in your time zone.

## New inquiry
new-title = New inquiry
new-intro = An inquiry asks another state for information about malicious cyber activity that seems to come from its territory. You prepare it in four steps; nothing reaches the other state until the last one.
new-step-lookup = Choose the responding state: its policy points of contact come from the directory.
new-step-invoke = Invoke CBM #2: cbm2 writes the invocation under paragraph 78 of AG/RES. 2925 (XLVIII-O/18) in the language you choose, for you to review.
new-step-describe = Describe the incident, with its technical indicators.
new-step-request = Ask your questions, give your contact details and say how urgent it is; then send.
new-not-accusation = An inquiry is not an accusation.
new-exercise = This is an exercise
new-exercise-hint = Exercises are marked as such everywhere and left out of the Secretariat's figures.
new-start = Start the draft
new-policy-only = Only a policy point of contact of a participating state opens inquiries.
