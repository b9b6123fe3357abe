# Les pages de l'annuaire et les comptes du personnel du Secrétariat, en français.

## États membres
directory-title = Annuaire
directory-intro = Les États membres de l'OEA et leurs points de contact au titre de la MDC n° 2. Les heures sont affichées aux points de contact de chaque État dans son fuseau horaire.
directory-add-poc = Ajouter un point de contact
directory-col-state = État membre
directory-col-participating = Participe à la MDC n° 2
directory-col-time-zone = Fuseau horaire
directory-col-active-pocs = Points de contact actifs
directory-yes = Oui
directory-no = Non
directory-no-policy-poc = Aucun point de contact de niveau politique actif
directory-back = Retour à l'annuaire
directory-state-pocs = Points de contact
directory-show-all = Afficher aussi les points de contact désactivés
directory-active-only = N'afficher que les points de contact actifs
directory-no-pocs = Cet État n'a aucun point de contact dans l'annuaire.
directory-next-page = Autres points de contact
directory-secretariat-only = Seul le Secrétariat du CICTE modifie cette partie de l'annuaire.
directory-done-added = Le point de contact a été ajouté.
directory-done-saved = Les modifications ont été enregistrées.
directory-done-confirmed = Les coordonnées ont été confirmées comme étant à jour.
directory-done-deactivated = Le point de contact a été désactivé.
directory-done-removed = Le compte du personnel a été supprimé ; ses sessions ont pris fin.
directory-done-state-saved = Les paramètres de l'État ont été enregistrés.
directory-done-staff-added = Le compte du personnel a été ajouté. Son titulaire se connecte au moyen d'un lien envoyé à cette adresse.
directory-invalid-member_state = Choisissez un État membre de l'OEA.
directory-invalid-name = Saisissez un nom (200 caractères au plus, sur une seule ligne).
directory-invalid-affiliation = Saisissez l'institution (300 caractères au plus, sur une seule ligne).
directory-invalid-role = Choisissez une fonction.
directory-invalid-email = Saisissez une adresse électronique, par exemple nom@ministere.gouv.
directory-invalid-phone = Saisissez un numéro de téléphone tel que +56 2 2827 4200 : chiffres, espaces et + - . ( ), de 5 à 20 chiffres.
directory-invalid-languages = Saisissez des codes de langue à deux lettres séparés par des virgules, par exemple fr, en (chacun une seule fois, 10 au plus).
directory-invalid-time_zone = Saisissez un fuseau horaire IANA tel qu'il est écrit dans la liste, par exemple America/Port-au-Prince.
directory-invalid-participating = Cochez la case ou laissez-la vide.

## Paramètres d'un État (Secrétariat)
state-form-title = Participation et fuseau horaire
state-form-participating = Cet État participe à la MDC n° 2
state-form-participating-hint = Un État qui ne participe pas ne peut ni envoyer ni recevoir de demandes.
state-form-time_zone = Fuseau horaire
state-form-time_zone-hint = Le nom IANA du fuseau horaire de la capitale, par exemple America/Port-au-Prince.
state-form-submit = Enregistrer

## Points de contact
poc-col-name = Nom et institution
poc-col-role = Fonction
poc-col-contact = Coordonnées
poc-col-languages = Langues
poc-col-confirmed = Dernière confirmation
poc-col-state = État membre
poc-deactivated = Désactivé
poc-deactivated-at = Désactivé le
poc-stale = Non confirmé depuis un an
poc-back = Retour à { $state }
poc-member_state = État membre
poc-name = Nom
poc-affiliation = Institution
poc-role = Fonction
poc-email = Adresse électronique
poc-email-hint = Les liens de connexion et les demandes sont envoyés à cette adresse.
poc-phone = Téléphone
poc-phone-hint = Facultatif. Au format international, par exemple +509 2222 0000.
poc-languages = Langues
poc-languages-hint = Codes à deux lettres, par ordre de préférence, séparés par des virgules : fr, en. cbm2 écrit dans la première des langues anglais, espagnol, français et portugais figurant dans la liste.
poc-new-title = Ajouter un point de contact
poc-new-intro = Ajoutez une personne désignée par un État membre. Elle peut se connecter immédiatement avec cette adresse électronique.
poc-new-submit = Ajouter le point de contact
poc-edit-title = Modifier les coordonnées
poc-edit-own-note = Votre État et votre fonction sont modifiés par le Secrétariat du CICTE.
poc-edit-submit = Enregistrer les modifications
poc-confirm-title = Confirmer les coordonnées
poc-confirm-own = Une fois par an, confirmez que vos coordonnées ci-dessus sont toujours exactes.
poc-confirm-other = Consigner que ces coordonnées ont été vérifiées auprès du point de contact.
poc-confirm-submit = Les coordonnées sont à jour
poc-deactivate-title = Désactiver
poc-deactivate-text = Un point de contact désactivé ne reçoit plus rien et ne peut plus se connecter. La fiche et son historique sont conservés.
poc-deactivate-submit = Désactiver le point de contact

## Comptes du personnel
staff-title = Personnel du Secrétariat
staff-intro = Les membres du Secrétariat du CICTE autorisés à se connecter. Ils voient l'annuaire et le moment où chaque étape des demandes a lieu, jamais ce qu'écrivent les États.
staff-col-name = Nom
staff-col-email = Adresse électronique
staff-col-added = Ajouté le
staff-col-actions = Actions
staff-remove = Supprimer { $name }
staff-add-title = Ajouter un compte du personnel
staff-email = Adresse électronique
staff-name = Nom
staff-add-submit = Ajouter le compte
staff-duplicate-email = Un compte du personnel actif utilise déjà cette adresse électronique.
