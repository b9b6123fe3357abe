-- cbm2 0014: a POC's OpenPGP public key. Kept in lockstep with
-- ../sqlite/0014_poc_openpgp_keys.sql.

-- ASCII-armored, checked when saved (PATCH /v1/pocs/{id}: it parses, verifies, is neither
-- expired nor revoked, and can encrypt). E-mails to a POC with a key go encrypted to it
-- (PGP/MIME); NULL: e-mails go as they always have.
ALTER TABLE pocs ADD COLUMN openpgp_key TEXT;
