# The inquiry record's words that read the same to both states.
inquiry-requester-contact = Requester's contact details
