-- cbm2 0011: a POC's consent to have its contact details sent to the UN Global POC
-- Directory (5th meeting of the Working Group: OAS POCs may "expressly authorize CICTE to
-- transmit those contact details to the UN"). Kept in lockstep with
-- ../postgres/0011_un_directory_consent.sql.
--
-- NULL un_consent_at: no consent (never given, or withdrawn). Otherwise when it was given,
-- who recorded it (the POC itself, or the Secretariat noting a consent given outside
-- cbm2) and, when the Secretariat recorded it, how it was given. Each change is a
-- directory event; only a consenting, active POC is in GET /v1/directory/export.
ALTER TABLE pocs ADD COLUMN un_consent_at TEXT;
ALTER TABLE pocs ADD COLUMN un_consent_by TEXT
    CHECK (un_consent_by IN ('poc', 'secretariat'));
ALTER TABLE pocs ADD COLUMN un_consent_how TEXT
    CHECK (un_consent_how <> '');
