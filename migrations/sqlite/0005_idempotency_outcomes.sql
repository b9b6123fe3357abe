-- Idempotency keys record what the store did, not an HTTP status: only applied actions
-- are remembered (a refused request writes nothing), so the status column said nothing
-- the HTTP edge does not already know. Keys expire after 24 hours; the index serves the
-- sweeper's purge. Kept in lockstep with ../postgres/0005_idempotency_outcomes.sql.
ALTER TABLE idempotency_keys DROP COLUMN response_status;

-- Expired keys (older than 24 hours) are purged in batches by created_at.
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
