-- cbm2 0007: a secret salt in each event's hash. Kept in lockstep with
-- ../postgres/0007_event_salt.sql.

-- 128 random bits (32 hex digits), hashed with the event ("cbm2-event-v2") and never shown.
-- Every other input of an event's hash is known to someone who sees the event without its
-- payload (the Secretariat) and the hash of the event before it (a chain head the audit
-- answers): without the salt a hash shown would let them test guesses of a low-entropy
-- payload (a language, a flag, a timeframe). NULL for the events recorded before this
-- migration, whose hash stays "cbm2-event-v1".
ALTER TABLE inquiry_events ADD COLUMN salt TEXT CHECK (salt IS NULL OR length(salt) = 32);
