-- cbm2 0016: tell every server on PostgreSQL what changed, so that it may answer reads
-- from memory. Kept in lockstep with ../postgres/0016_change_notifications.sql.
--
-- Nothing changes on SQLite: it has no notifications, and a server on a SQLite file reads
-- the file for every request (on the request's own thread: src/store/sqlite_reads.rs).
-- This file keeps the two backends' migrations numbered alike.
SELECT 1;
