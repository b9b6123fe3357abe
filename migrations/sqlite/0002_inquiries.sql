-- cbm2 0002: inquiries, their hash-chained event log, the notification outbox and
-- idempotency keys. Kept in lockstep with ../postgres/0002_inquiries.sql.

-- The projection of each inquiry's events. `state` holds the whole projection (JSON);
-- the other columns repeat what lists, filters and the deadline sweep query.
CREATE TABLE inquiries (
    id                 BLOB PRIMARY KEY CHECK (length(id) = 16),
    status             TEXT NOT NULL CHECK (status IN ('draft', 'poc_identified', 'cbm2_invoked',
                           'incident_described', 'awaiting_response', 'acknowledged', 'responded',
                           'closed', 'withdrawn')),
    -- The number of events recorded; the ETag.
    version            INTEGER NOT NULL CHECK (version >= 1),
    requesting_state   TEXT NOT NULL REFERENCES member_states (code),
    requester_poc_id   BLOB NOT NULL REFERENCES pocs (id),
    responding_state   TEXT REFERENCES member_states (code),
    -- Exercises run the whole workflow but stay out of the monitoring figures.
    exercise           INTEGER NOT NULL CHECK (exercise IN (0, 1)),
    related_inquiry_id BLOB REFERENCES inquiries (id),
    time_sensitivity   TEXT CHECK (time_sensitivity IN ('routine', 'urgent', 'critical')),
    -- The running deadline (acknowledgement or response); NULL unless the inquiry is open.
    due_at             TEXT,
    -- When request_info sent it: from then on the responding state sees it.
    sent_at            TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    protocol_version   TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (json_valid(state))
);
CREATE INDEX inquiries_by_requesting_state ON inquiries (requesting_state, created_at, id);
CREATE INDEX inquiries_by_responding_state ON inquiries (responding_state, created_at, id);
CREATE INDEX inquiries_by_created ON inquiries (created_at, id);
-- The sweep and the overdue views touch only rows with a running deadline.
CREATE INDEX inquiries_by_due ON inquiries (due_at) WHERE due_at IS NOT NULL;

-- The record. One global hash chain over every inquiry's events, in chain_seq order:
-- hash = SHA-256(prev_hash, chain_seq, inquiry_id, seq, type, actor, at, payload), so an
-- altered, inserted, removed or reordered event (a whole inquiry's included) breaks it.
CREATE TABLE inquiry_events (
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
    hash         TEXT NOT NULL UNIQUE CHECK (length(hash) = 64),
    UNIQUE (inquiry_id, seq)
);

CREATE TRIGGER inquiry_events_are_never_updated BEFORE UPDATE ON inquiry_events
BEGIN
    SELECT RAISE(ABORT, 'inquiry_events is append-only');
END;

CREATE TRIGGER inquiry_events_are_never_deleted BEFORE DELETE ON inquiry_events
BEGIN
    SELECT RAISE(ABORT, 'inquiry_events is append-only');
END;

-- The chain's head: appending an event locks this row, so events are chained one at a
-- time, and removing the last events is detected.
CREATE TABLE event_chain_head (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    last_chain_seq INTEGER NOT NULL,
    last_hash      TEXT NOT NULL CHECK (length(last_hash) = 64)
);
INSERT INTO event_chain_head (id, last_chain_seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Notifications queued in the same transaction as their event, one per recipient (the
-- table of who is told what is protocol/notifications.toml). The delivery worker fans each
-- out to the recipient's webhooks and e-mail; nothing here is ever content.
CREATE TABLE outbox (
    id               BLOB PRIMARY KEY CHECK (length(id) = 16),
    -- An inquiry event, or NULL for directory notices (communication checks, stale POCs).
    inquiry_id       BLOB REFERENCES inquiries (id),
    event_chain_seq  INTEGER REFERENCES inquiry_events (chain_seq),
    event_type       TEXT NOT NULL,
    -- A POC (recipient_poc_id) or the Secretariat.
    recipient_kind   TEXT NOT NULL CHECK (recipient_kind IN ('poc', 'secretariat')),
    recipient_poc_id BLOB REFERENCES pocs (id),
    -- The notification's thin `data` (ids, states, status, deadline; the invocation text for
    -- the responding state only), as JSON.
    data             TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(data)),
    created_at       TEXT NOT NULL,
    -- When the delivery worker created this notification's deliveries.
    fanned_out_at    TEXT,
    CHECK ((recipient_kind = 'poc') = (recipient_poc_id IS NOT NULL))
);
CREATE INDEX outbox_by_inquiry ON outbox (inquiry_id);
CREATE INDEX outbox_to_fan_out ON outbox (created_at) WHERE fanned_out_at IS NULL;

-- Idempotency-Key: a retry with the same key and body gets the first answer.
CREATE TABLE idempotency_keys (
    -- 'secretariat' or 'poc:<id>': keys are per caller.
    principal       TEXT NOT NULL,
    key             TEXT NOT NULL,
    -- SHA-256 of method, path and body: the same key with another request is refused.
    request_hash    TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (principal, key)
);
