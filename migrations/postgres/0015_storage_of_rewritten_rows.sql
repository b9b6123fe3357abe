-- cbm2 0015: how PostgreSQL stores the rows every command rewrites. Kept in lockstep with
-- ../sqlite/0015_storage_of_rewritten_rows.sql, which changes nothing: SQLite has neither
-- setting.

-- Every event updates its inquiry's row. On full pages the row's new version goes to
-- another page, and each of the table's six indexes gets an entry for it (the update is
-- not "heap-only"): under `cbm2 bench`'s 16 writers, two updates in three were so. A fifth
-- of each page left free keeps the new version on its page, with no index entry written.
-- Pages written from now on are filled so; `VACUUM FULL inquiries` (which locks the table
-- while it rewrites it) refills the others.
ALTER TABLE inquiries SET (fillfactor = 80);

-- An inquiry's state and an answer kept under an idempotency key (a few kilobytes of JSON
-- each) are compressed when their row is over about 2 kB. lz4 compresses them several
-- times faster than the default pglz, whose compression took 3 % of the server's time
-- under 16 writers. Only where the server was built with lz4 (PostgreSQL 14 and later, as
-- Debian's and PGDG's packages are); elsewhere nothing changes. Values already stored
-- keep their compression until rewritten; both read back the same.
DO $$
BEGIN
    IF 'lz4' IN (SELECT unnest(enumvals) FROM pg_settings
                  WHERE name = 'default_toast_compression') THEN
        ALTER TABLE inquiries ALTER COLUMN state SET COMPRESSION lz4;
        ALTER TABLE idempotency_keys ALTER COLUMN response_body SET COMPRESSION lz4;
    END IF;
END
$$;
