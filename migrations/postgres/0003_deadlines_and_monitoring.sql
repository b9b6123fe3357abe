-- cbm2 0003: what the deadline sweeper and the Secretariat's monitoring query, and the
-- communication checks. Kept in lockstep with ../sqlite/0003_deadlines_and_monitoring.sql.

-- When the sweeper next has something to record for the inquiry (a reminder, then the
-- missed deadline); NULL when nothing is pending. The sweep reads only rows due by now.
ALTER TABLE inquiries ADD COLUMN next_sweep_at TIMESTAMPTZ;
-- Response times for the monitoring summary (also in `state`; repeated to be queried).
ALTER TABLE inquiries ADD COLUMN acknowledged_at TIMESTAMPTZ;
ALTER TABLE inquiries ADD COLUMN responded_at TIMESTAMPTZ;

-- Existing rows: the times from their projection, and the miss of any running deadline
-- still to record.
UPDATE inquiries SET
    acknowledged_at = (state::jsonb ->> 'acknowledged_at')::timestamptz,
    responded_at = (state::jsonb ->> 'responded_at')::timestamptz,
    next_sweep_at = CASE
        WHEN due_at IS NOT NULL
             AND (state::jsonb ->> 'deadline_missed_for') IS DISTINCT FROM
                 (state::jsonb ->> CASE status WHEN 'awaiting_response' THEN 'ack_due_at'
                                               ELSE 'response_due_at' END)
        THEN due_at
    END;

CREATE INDEX inquiries_by_next_sweep ON inquiries (next_sweep_at) WHERE next_sweep_at IS NOT NULL;

-- A communication check: the Secretariat asks POCs to reply within a window, to learn
-- whether the directory's contacts answer (what the UN and OSCE directories do by hand).
CREATE TABLE communication_checks (
    id              UUID PRIMARY KEY,
    created_at      TIMESTAMPTZ NOT NULL,
    -- The Secretariat token that started it.
    created_by      UUID NOT NULL REFERENCES tokens (id),
    reply_window    TEXT NOT NULL,
    window_ends_at  TIMESTAMPTZ NOT NULL,
    -- JSON array of the member-state codes asked, or NULL for every active POC.
    member_states   JSONB
);
CREATE INDEX communication_checks_by_created ON communication_checks (created_at, id);

-- Each POC asked, and when it replied.
CREATE TABLE communication_check_targets (
    check_id     UUID NOT NULL REFERENCES communication_checks (id),
    poc_id       UUID NOT NULL REFERENCES pocs (id),
    member_state TEXT NOT NULL REFERENCES member_states (code),
    replied_at   TIMESTAMPTZ,
    PRIMARY KEY (check_id, poc_id)
);
