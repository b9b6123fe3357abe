-- cbm2 0008: who an inquiry is shared with (protocol 1.1). Kept in lockstep with
-- ../postgres/0008_inquiry_shares.sql.

-- A policy POC may share an inquiry with another POC of its own state (its CSIRT, its
-- ministry): that POC reads the inquiry and sends messages, until unshared. The inquiry's
-- events (`share`, `unshare`) are the record and its projection (`inquiries.state`) holds
-- the list; this table is their index, written in the same transaction, so that a POC's
-- list of inquiries can find those shared with it. `side` is the party the POC acts for.
CREATE TABLE inquiry_shares (
    inquiry_id BLOB NOT NULL REFERENCES inquiries (id),
    poc_id     BLOB NOT NULL REFERENCES pocs (id),
    side       TEXT NOT NULL CHECK (side IN ('requester', 'responder')),
    shared_at  TEXT NOT NULL,
    PRIMARY KEY (inquiry_id, poc_id)
);
CREATE INDEX inquiry_shares_by_poc ON inquiry_shares (poc_id, inquiry_id);
