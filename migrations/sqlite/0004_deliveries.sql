-- cbm2 0004: notification delivery. Webhook endpoints, the deliveries the worker makes of
-- each queued notification, and every attempt. Kept in lockstep with
-- ../postgres/0004_deliveries.sql.

-- An endpoint a POC (for itself) or the Secretariat registers.
CREATE TABLE webhooks (
    id            BLOB PRIMARY KEY CHECK (length(id) = 16),
    owner_kind    TEXT NOT NULL CHECK (owner_kind IN ('poc', 'secretariat')),
    owner_poc_id  BLOB REFERENCES pocs (id),
    url           TEXT NOT NULL,
    -- JSON array of event types to receive, or NULL for every event its owner is told of.
    events        TEXT CHECK (events IS NULL OR json_valid(events)),
    -- The Standard Webhooks signing secret (whsec_…): kept, since every request is signed
    -- with it; shown to the owner once, at registration.
    secret        TEXT NOT NULL,
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    -- Why it stopped (deleted by its owner, or 410 Gone from the receiver).
    disabled_reason TEXT,
    created_at    TEXT NOT NULL,
    disabled_at   TEXT,
    CHECK ((owner_kind = 'poc') = (owner_poc_id IS NOT NULL))
);
CREATE INDEX webhooks_by_owner ON webhooks (owner_kind, owner_poc_id) WHERE active = 1;

-- One notification to one endpoint or mailbox. Its id is the `webhook-id` header, the same
-- on every attempt, so receivers can de-duplicate.
CREATE TABLE deliveries (
    id              BLOB PRIMARY KEY CHECK (length(id) = 16),
    -- NULL for a ping.
    outbox_id       BLOB REFERENCES outbox (id),
    event_type      TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    webhook_id      BLOB REFERENCES webhooks (id),
    email_to        TEXT,
    -- The exact body sent (the notification, with its link), so retries send the same.
    body            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER,
    last_error      TEXT,
    next_attempt_at TEXT NOT NULL,
    -- A worker's claim: no other worker takes the delivery until the lease expires, so an
    -- attempt is never made twice at once, and a crashed worker's claim is taken again.
    lease_owner     TEXT,
    lease_until     TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    CHECK ((channel = 'webhook') = (webhook_id IS NOT NULL)),
    CHECK ((channel = 'email') = (email_to IS NOT NULL))
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, created_at);

-- Every attempt, as made.
CREATE TABLE delivery_attempts (
    delivery_id  BLOB NOT NULL REFERENCES deliveries (id),
    attempt      INTEGER NOT NULL,
    at           TEXT NOT NULL,
    status       INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- The confirmation a POC was last warned about (30 days before it turns stale), so it is
-- warned once per confirmation.
ALTER TABLE pocs ADD COLUMN stale_notice_for TEXT;
