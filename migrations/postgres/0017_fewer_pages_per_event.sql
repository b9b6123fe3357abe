-- cbm2 0017: fewer index entries written for each event. Kept in lockstep with
-- ../sqlite/0017_fewer_pages_per_event.sql.
--
-- Two indexes served nothing, and each cost an index insertion (and its WAL record) for
-- every event: the UNIQUE constraint on inquiry_events.hash (nothing looks an event up by
-- its hash, and two events cannot share one: each hash covers its chain_seq, the table's
-- key), and outbox_by_inquiry (no query reads the outbox by inquiry).
ALTER TABLE inquiry_events DROP CONSTRAINT inquiry_events_hash_key;

DROP INDEX outbox_by_inquiry;
