-- cbm2 0006: the side of an inquiry a POC is notified for. Kept in lockstep with
-- ../sqlite/0006_recipient_state.sql.

-- The member state a POC recipient was addressed as: the inquiry's requesting state (its
-- requester) or its responding state (the POCs snapshotted at lookup_poc). At fan-out a
-- POC that no longer belongs to it is told nothing: a POC moved to another state must not
-- go on hearing of its former state's inquiries. NULL for the Secretariat and for notices
-- about the POC itself (communication checks, stale details).
ALTER TABLE outbox ADD COLUMN recipient_state TEXT REFERENCES member_states (code);

-- Notifications queued before this migration and not yet fanned out: the requester is
-- told as the requesting state, every other POC as the responding state.
UPDATE outbox SET recipient_state = (
    SELECT CASE WHEN i.requester_poc_id = outbox.recipient_poc_id
                THEN i.requesting_state ELSE i.responding_state END
      FROM inquiries i WHERE i.id = outbox.inquiry_id)
 WHERE inquiry_id IS NOT NULL AND recipient_kind = 'poc' AND fanned_out_at IS NULL;
