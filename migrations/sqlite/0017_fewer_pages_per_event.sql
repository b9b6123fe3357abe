-- no-transaction
-- cbm2 0017: fewer pages written for each event. Kept in lockstep with
-- ../postgres/0017_fewer_pages_per_event.sql.
--
-- On SQLite a commit costs about one write to the log per page it changes, and each index
-- an event's rows go into is a page of its own (a random one, when its key is a hash or an
-- inquiry id). Two indexes served nothing:
--
-- - the UNIQUE index on inquiry_events.hash: nothing looks an event up by its hash, and two
--   events cannot share one (each hash covers its chain_seq, the table's key). It is a
--   table constraint, so the table is rebuilt without it;
-- - outbox_by_inquiry: no query reads the outbox by inquiry.
--
-- The rebuild drops inquiry_events, which the outbox references: foreign keys are off for
-- it (as SQLite's documentation prescribes for a table rebuild, outside any transaction,
-- hence `no-transaction` above), and every change is inside one transaction of its own, so
-- it applies entirely or not at all. Run again after a crash between that commit and the
-- migration's bookkeeping, it rebuilds the table again, to the same result.
PRAGMA foreign_keys = OFF;

BEGIN IMMEDIATE;

DROP INDEX IF EXISTS outbox_by_inquiry;

CREATE TABLE inquiry_events_rebuilt (
    chain_seq    INTEGER PRIMARY KEY,
    inquiry_id   BLOB NOT NULL REFERENCES inquiries (id),
    -- 1, 2, 3… within the inquiry; the inquiry's version is its last seq.
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    type         TEXT NOT NULL,
    -- requester, responder, secretariat or engine; the POC and its state when a POC acted.
    actor_kind   TEXT NOT NULL CHECK (actor_kind IN ('requester', 'responder', 'secretariat', 'engine')),
    actor_poc_id BLOB,
    actor_state  TEXT,
    at           TEXT NOT NULL,
    -- Canonical JSON (sorted keys), hashed as stored.
    payload      TEXT NOT NULL,
    prev_hash    TEXT NOT NULL CHECK (length(prev_hash) = 64),
    hash         TEXT NOT NULL CHECK (length(hash) = 64),
    -- See 0007_event_salt.sql.
    salt         TEXT CHECK (salt IS NULL OR length(salt) = 32),
    UNIQUE (inquiry_id, seq)
);

INSERT INTO inquiry_events_rebuilt (chain_seq, inquiry_id, seq, type, actor_kind, actor_poc_id,
                                    actor_state, at, payload, prev_hash, hash, salt)
SELECT chain_seq, inquiry_id, seq, type, actor_kind, actor_poc_id,
       actor_state, at, payload, prev_hash, hash, salt
  FROM inquiry_events
 ORDER BY chain_seq;

DROP TABLE inquiry_events;

ALTER TABLE inquiry_events_rebuilt RENAME TO inquiry_events;

CREATE TRIGGER inquiry_events_are_never_updated BEFORE UPDATE ON inquiry_events
BEGIN
    SELECT RAISE(ABORT, 'inquiry_events is append-only');
END;

CREATE TRIGGER inquiry_events_are_never_deleted BEFORE DELETE ON inquiry_events
BEGIN
    SELECT RAISE(ABORT, 'inquiry_events is append-only');
END;

COMMIT;

PRAGMA foreign_keys = ON;
