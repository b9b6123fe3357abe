-- cbm2 0015: how PostgreSQL stores the rows every command rewrites. Kept in lockstep with
-- ../postgres/0015_storage_of_rewritten_rows.sql.
--
-- Nothing changes on SQLite: the PostgreSQL migration leaves room on the inquiries'
-- pages for a row's next version (fillfactor) and compresses large values with lz4;
-- SQLite has neither setting (it rewrites a row in place, and never compresses). This
-- file keeps the two backends' migrations numbered alike.
SELECT 1;
