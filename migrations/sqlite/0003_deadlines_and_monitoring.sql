-- cbm2 0003: what the deadline sweeper and the Secretariat's monitoring query, and the
-- communication checks. Kept in lockstep with ../postgres/0003_deadlines_and_monitoring.sql.

-- When the sweeper next has something to record for the inquiry (a reminder, then the
-- missed deadline); NULL when nothing is pending. The sweep reads only rows due by now.
ALTER TABLE inquiries ADD COLUMN next_sweep_at TEXT;
-- Response times for the monitoring summary (also in `state`; repeated to be queried).
ALTER TABLE inquiries ADD COLUMN acknowledged_at TEXT;
ALTER TABLE inquiries ADD COLUMN responded_at TEXT;

-- Existing rows: the times from their projection (written by serde as …Z; stored here in
-- the +00:00 form sqlx writes, so the column sorts consistently), and the miss of any
-- running deadline still to record.
UPDATE inquiries SET
    acknowledged_at = replace(json_extract(state, '$.acknowledged_at'), 'Z', '+00:00'),
    responded_at = replace(json_extract(state, '$.responded_at'), 'Z', '+00:00'),
    next_sweep_at = CASE
        WHEN due_at IS NOT NULL
             AND json_extract(state, '$.deadline_missed_for') IS NOT
                 json_extract(state, CASE status WHEN 'awaiting_response' THEN '$.ack_due_at'
                                                  ELSE '$.response_due_at' END)
        THEN due_at
    END;

CREATE INDEX inquiries_by_next_sweep ON inquiries (next_sweep_at) WHERE next_sweep_at IS NOT NULL;

-- A communication check: the Secretariat asks POCs to reply within a window, to learn
-- whether the directory's contacts answer (what the UN and OSCE directories do by hand).
CREATE TABLE communication_checks (
    id              BLOB PRIMARY KEY CHECK (length(id) = 16),
    created_at      TEXT NOT NULL,
    -- The Secretariat token that started it.
    created_by      BLOB NOT NULL REFERENCES tokens (id),
    reply_window    TEXT NOT NULL,
    window_ends_at  TEXT NOT NULL,
    -- JSON array of the member-state codes asked, or NULL for every active POC.
    member_states   TEXT CHECK (member_states IS NULL OR json_valid(member_states))
);
CREATE INDEX communication_checks_by_created ON communication_checks (created_at, id);

-- Each POC asked, and when it replied.
CREATE TABLE communication_check_targets (
    check_id     BLOB NOT NULL REFERENCES communication_checks (id),
    poc_id       BLOB NOT NULL REFERENCES pocs (id),
    member_state TEXT NOT NULL REFERENCES member_states (code),
    replied_at   TEXT,
    PRIMARY KEY (check_id, poc_id)
);
