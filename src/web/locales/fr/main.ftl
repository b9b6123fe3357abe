# Les pages de cbm2 en français. Les clés portent le nom de la page et de l'élément. Chaque
# clé existe aussi en en, es et pt (sinon un test échoue). Les termes officiels suivent
# protocol/templates/invocation.fr.txt. Devant « : » figure une espace insécable (U+00A0),
# devant « ; ? ! » une espace fine insécable (U+202F), comme dans les textes officiels.

site-name = cbm2
site-tagline = Mesure de confiance (MDC) n° 2 de l'OEA dans le cyberespace
format-datetime = %-d %B %Y à %H:%M

## Structure de la page
layout-skip = Aller au contenu
layout-nav = Principale
nav-dashboard = Tableau de bord
nav-checks = Vérifications de la communication
nav-staff = Personnel
nav-inbox = Boîte de réception
nav-new-inquiry = Nouvelle demande
nav-directory = Annuaire
nav-account = Compte
layout-signed-in-as = Session ouverte au nom de { $name }
layout-secretariat = Secrétariat du CICTE
layout-sign-out = Se déconnecter
layout-language = Langue
layout-language-change = Changer
layout-footer = cbm2 achemine les demandes entre les points de contact des États membres de l'OEA au titre de la MDC n° 2 (paragraphe 78 de la résolution AG/RES. 2925 (XLVIII-O/18)). Une demande ne constitue pas une accusation.
language-en = English
language-es = Español
language-fr = Français
language-pt = Português

## Erreurs
error-not-found-title = Page introuvable
error-not-found-text = Cette page n'existe pas, ou elle ne vous est pas accessible. Vérifiez l'adresse ou recommencez à partir de votre boîte de réception.
error-forbidden-title = Action non autorisée
error-stale-form-title = Ce formulaire a expiré
error-stale-form-text = Le formulaire a été ouvert dans une autre session ou a expiré. Revenez à la page précédente, rechargez-la et envoyez de nouveau le formulaire.
error-bad-request-title = Cette adresse n'est pas valide
error-bad-request-text = La page ne peut pas interpréter cette adresse. Recommencez à partir de votre boîte de réception.
error-internal-title = Une erreur s'est produite
error-internal-text = cbm2 n'a pas pu afficher cette page. Aucune donnée n'a été perdue ; veuillez réessayer dans un instant. Si le problème se reproduit, prévenez votre administrateur.
error-too-many-title = Trop de demandes
error-too-many-text = Trop de demandes sont venues d’ici en peu de temps. Veuillez patienter { $seconds } secondes, puis réessayer.
error-home = Aller à la page d'accueil

## Connexion
sign-in-title = Connexion
sign-in-intro = cbm2 envoie un lien de connexion à l'adresse électronique qui figure à votre nom dans l'annuaire des points de contact. Aucun mot de passe n'est nécessaire.
sign-in-email = Adresse électronique
sign-in-email-hint = L'adresse communiquée par votre État pour votre inscription comme point de contact, ou celle de votre compte du Secrétariat.
sign-in-email-invalid = Saisissez une adresse électronique, par exemple nom@ministere.gouv.
sign-in-send = M'envoyer un lien de connexion
sign-in-no-account = Vous ne figurez pas dans l'annuaire ? Demandez au point de contact de niveau politique de votre État ou au Secrétariat du CICTE de vous y inscrire.
sign-in-sent-title = Consultez votre messagerie
sign-in-sent-text = Si { $email } appartient à un point de contact ou à un compte du Secrétariat, un lien de connexion est en cours d'envoi à cette adresse.
sign-in-sent-expiry = Le lien n'est utilisable qu'une seule fois, dans un délai de 15 minutes. Si aucun courriel ne vous parvient, vérifiez votre dossier de courrier indésirable ou demandez un nouveau lien.
sign-in-sent-again = Demander un nouveau lien
sign-in-continue-title = Continuer vers cbm2
sign-in-continue-text = Appuyez sur le bouton pour vous connecter sur cet appareil.
sign-in-continue-button = Continuer
sign-in-continue-invalid = Ce lien de connexion a déjà été utilisé ou a expiré. Chaque lien n'est utilisable qu'une seule fois, dans un délai de 15 minutes.

## Boîte de réception
inbox-title = Boîte de réception
inbox-filters = Filtrer les demandes
inbox-side = Sens
inbox-side-all = Reçues et envoyées
inbox-side-incoming = Reçues (adressées à mon État)
inbox-side-outgoing = Envoyées (par mon État)
inbox-status = Statut
inbox-status-any = Tous les statuts
inbox-overdue-only = Uniquement celles dont le délai est dépassé
inbox-apply = Appliquer
inbox-empty = Aucune demande ne correspond à ces critères.
inbox-col-inquiry = Demande
inbox-col-state = Autre État
inbox-col-status = Statut
inbox-col-deadline = Délai
inbox-col-updated = Dernière modification
inbox-incoming = Reçue
inbox-outgoing = Envoyée
inbox-next-page = Demandes plus anciennes

## Statuts et badges
status-draft = Brouillon
status-poc_identified = Point de contact identifié
status-cbm2_invoked = MDC n° 2 invoquée
status-incident_described = Incident décrit
status-awaiting_response = En attente de réponse
status-acknowledged = Réception accusée
status-responded = Réponse donnée
status-closed = Clôturée
status-withdrawn = Retirée
duration-days = { $n ->
    [one] { $n } jour
   *[other] { $n } jours
}
duration-hours = { $n ->
    [one] { $n } heure
   *[other] { $n } heures
}
duration-minutes = { $n ->
    [one] { $n } minute
   *[other] { $n } minutes
}
badge-exercise = Exercice
badge-overdue = Délai dépassé
sensitivity-routine = Ordinaire
sensitivity-urgent = Urgent
sensitivity-critical = Critique
channel-phone = Téléphone
channel-email = Courriel
channel-meeting = Réunion
channel-other = Autre
poc-role-policy = niveau politique
poc-role-technical = niveau technique
poc-role-mfa = affaires étrangères

## Page de la demande
inquiry-title = Demande
inquiry-exercise-banner = EXERCICE : cette demande s'inscrit dans le cadre d'un exercice ; il ne s'agit pas d'un incident réel.
inquiry-done = Enregistré : { $action }.
inquiry-steps = Étapes de la demande
inquiry-summary = Résumé
inquiry-requesting-state = État demandeur
inquiry-responding-state = État destinataire
inquiry-time-sensitivity = Degré d'urgence
inquiry-created = Ouverture
inquiry-sent = Envoi
inquiry-acknowledged = Accusé de réception
inquiry-responded = Réponse
inquiry-ended = Clôture
inquiry-due = Délai
inquiry-protocol = Protocole
inquiry-version = version { $version } de l'enregistrement
inquiry-metadata-only = Le Secrétariat voit à quel moment chaque étape a eu lieu, jamais ce que les États ont écrit.
inquiry-record = La demande
inquiry-requester = Point de contact demandeur
inquiry-responding-pocs = Points de contact destinataires
inquiry-contact-provided = communiquées le { $at }
inquiry-contact-awaited = demandées, pas encore communiquées
inquiry-shared-with = Partagée avec
inquiry-invocation = Invocation de la MDC n° 2
inquiry-logged-contacts = Contacts en dehors de cbm2
inquiry-timeline = Chronologie
inquiry-chain-position = Entrée { $seq } du journal d'audit
inquiry-due-local = { $state } : { $time }
inquiry-working-days = { $days } jours ouvrés de l'État qui répond
inquiry-signed-record = Télécharger le dossier signé (JSON)
inquiry-signed-record-hint = signé par cette instance ; chacun peut le vérifier hors ligne avec cbm2 audit verify-record et la clé publique de l'instance
action-attach-title = Joindre un fichier comme élément de preuve
action-attach-submit = Joindre le fichier
inquiry-evidence = Éléments de preuve
inquiry-evidence-size = { $size } octets
inquiry-evidence-sha256 = SHA-256 { $hash }
inquiry-evidence-file = Fichier
inquiry-evidence-hint = Au plus { $limit }. Types acceptés : { $types }. L'autre État voit son nom, son type, sa taille et son SHA-256, et le télécharge ; le Secrétariat voit seulement qu'un fichier est joint.
inquiry-evidence-count = Fichiers joints : { $count } (leurs noms et contenus sont réservés aux deux États)
inquiry-attach-no-file = Choisissez un fichier à joindre.
inquiry-actions = Ce que vous pouvez faire maintenant
inquiry-review-before-sending = Veuillez relire l'invocation et la description ci-dessus : leur envoi les transmet aux points de contact de l'État destinataire.
inquiry-changed = La demande a été modifiée depuis l'ouverture de cette page. Elle est affichée dans son état actuel : vérifiez-la, puis renvoyez votre formulaire.

## Événements
event-created = Brouillon ouvert
event-lookup_poc = Recherche des points de contact
event-invoke = MDC n° 2 invoquée
event-describe = Incident décrit
event-request_info = Demande d'informations (envoyée)
event-acknowledge = Accusé de réception
event-update = Mise à jour
event-respond = Réponse
event-follow_up = Questions complémentaires
event-close = Clôturée
event-withdraw = Retirée
event-remind = Rappel du Secrétariat
event-deadline_reminder = Échéance proche
event-deadline_missed = Délai non respecté
event-message = Message
event-log_contact = Contact en dehors de cbm2 consigné
event-share = Partagée au sein de l'État
event-unshare = Partage retiré
event-attachment_added = Fichier joint
actor-secretariat = Secrétariat du CICTE
actor-engine = cbm2
actor-unknown = Inconnu

## Formulaires d'action
action-lookup_poc-title = 1. Choisissez l'État destinataire
action-lookup_poc-submit = Rechercher ses points de contact
field-lookup_poc-member_state = État destinataire
field-lookup_poc-member_state-hint = L'État depuis le territoire duquel l'activité semble provenir. Ses points de contact de niveau politique sont tirés de l'annuaire.
action-invoke-title = 2. Invoquez la MDC n° 2
action-invoke-submit = Préparer l'invocation
field-invoke-languages = Langues de l'invocation
field-invoke-languages-hint = Si vous n'en cochez aucune, la première langue des points de contact destinataires sera utilisée.
action-describe-title = 3. Décrivez l'incident
action-describe-submit = Enregistrer la description
field-describe-nature = Nature de l'activité
field-describe-category = Catégorie
field-describe-sectors = Secteurs touchés
field-describe-sectors-hint = Un par ligne.
field-describe-observed_from = Début de l'observation
field-describe-observed_to = Fin de l'observation
field-describe-indicators = Indicateurs techniques
field-describe-indicators-hint = Un par ligne : le type (ipv4, ipv6, domain, url, hash, email, other), un espace, puis la valeur. Par exemple : ipv4 203.0.113.7
field-describe-indicators_stix = Indicateurs sous forme de paquet STIX 2.1
field-describe-indicators_stix-hint = Facultatif : collez un paquet exporté par les outils de votre CSIRT (JSON). Ses indicateurs d'une seule comparaison, comme [ipv4-addr:value = '203.0.113.7'], s'ajoutent à ceux ci-dessus.
inquiry-indicators-stix = Télécharger en STIX 2.1 (TLP:AMBER+STRICT)
action-request_info-title = 4. Demandez des informations et envoyez la demande
action-request_info-submit = Envoyer la demande
field-request_info-questions = Questions
field-request_info-contact = Vos coordonnées
field-request_info-contact-hint = Reprises de votre fiche dans l'annuaire ; modifiez-les si nécessaire.
field-request_info-time_sensitivity = Degré d'urgence
field-request_info-respond_by = Date limite de réponse (facultatif)
field-request_info-respond_by-hint = Dans votre fuseau horaire. Laissez ce champ vide pour appliquer le délai correspondant au degré d'urgence.
action-acknowledge-title = Accuser réception
action-acknowledge-submit = Envoyer l'accusé de réception
field-acknowledge-estimated_timeframe = Délai de réponse estimé
field-acknowledge-estimated_timeframe-hint = En jours et en heures, ou indiquez une date ci-dessous.
field-acknowledge-estimated_working_days = Ou : jours ouvrés de votre État
field-acknowledge-estimated_working_days-hint = Comptés en jours ouvrés de votre État, hors fins de semaine et jours fériés ; l'échéance tombe à la fin de votre journée de travail.
field-acknowledge-respond_by = Ou date limite de réponse
field-acknowledge-message = Message
field-acknowledge-contact_requested = Demander les coordonnées du demandeur
action-update-title = Envoyer une mise à jour
action-update-submit = Envoyer la mise à jour
field-update-message = Message
field-update-estimated_timeframe = Nouveau délai de réponse estimé
field-update-respond_by = Ou date limite de réponse
field-update-reason = Motif de la modification
action-respond-title = Répondre
action-respond-submit = Envoyer la réponse
field-respond-information = Informations
field-respond-third_states = Autres États concernés
action-follow_up-title = Poser des questions complémentaires
action-follow_up-submit = Envoyer les questions complémentaires
field-follow_up-questions = Questions
field-follow_up-time_sensitivity = Degré d'urgence
field-follow_up-respond_by = Date limite de réponse (facultatif)
action-close-title = Clôturer la demande
action-close-submit = Clôturer
field-close-resolution = Conclusion
action-withdraw-title = Retirer la demande
action-withdraw-submit = Retirer
field-withdraw-reason = Motif
action-remind-title = Adresser un rappel à l'État destinataire
action-remind-submit = Envoyer un rappel
action-message-title = Envoyer un message
action-message-submit = Envoyer le message
field-message-text = Message
field-message-contact = Coordonnées à communiquer (facultatif)
action-log_contact-title = Consigner un contact en dehors de cbm2
action-log_contact-submit = Consigner le contact
field-log_contact-channel = Moyen de communication
field-log_contact-at = Date et heure
field-log_contact-summary = Résumé
action-share-title = Partager avec un collègue de votre État
action-share-submit = Partager
field-share-poc_id = Point de contact
action-unshare-title = Cesser le partage
action-unshare-submit = Cesser le partage
field-unshare-poc_id = Point de contact
form-required = (obligatoire)
form-choose = Choisir…
form-part-days = Jours
form-part-hours = Heures
form-part-name = Nom
form-part-email = Courriel
form-part-phone = Téléphone
form-error-whole-number = Saisissez un nombre entier compris entre 0 et 10 000.
form-error-datetime = Saisissez une date et une heure qui existent dans votre fuseau horaire.

## Nouvelle demande
new-title = Nouvelle demande
new-intro = Une demande de renseignements sollicite d'un autre État des informations sur une activité cybernétique malveillante qui semble provenir de son territoire. Elle se prépare en quatre étapes ; rien ne parvient à l'autre État avant la dernière.
new-step-lookup = Choisissez l'État destinataire : ses points de contact de niveau politique sont tirés de l'annuaire.
new-step-invoke = Invoquez la MDC n° 2 : cbm2 rédige l'invocation au titre du paragraphe 78 de la résolution AG/RES. 2925 (XLVIII-O/18) dans la langue de votre choix, pour que vous la relisiez.
new-step-describe = Décrivez l'incident et ses indicateurs techniques.
new-step-request = Posez vos questions, indiquez vos coordonnées et le degré d'urgence, puis envoyez la demande.
new-not-accusation = Une demande ne constitue pas une accusation.
new-exercise = Il s'agit d'un exercice
new-exercise-hint = Les exercices sont signalés comme tels partout et exclus des statistiques du Secrétariat.
new-start = Commencer le brouillon
new-policy-only = Seul un point de contact de niveau politique d'un État participant peut ouvrir une demande.
