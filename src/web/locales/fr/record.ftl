# Les mots de la fiche de la demande, identiques pour les deux États.
inquiry-requester-contact = Coordonnées du demandeur
