-- cbm2 0016: tell every server what changed, so that it may answer reads from memory.
-- Kept in lockstep with ../sqlite/0016_change_notifications.sql, which changes nothing:
-- a server on SQLite reads the file for every request.
--
-- Each server on PostgreSQL listens on the channel cbm2_changes (src/store/listened.rs)
-- and keeps what token reads, and reads of one inquiry, found. These triggers notify it of
-- every change that could make what it kept wrong, whoever makes the change (a server,
-- the command line, SQL typed by hand), when the change commits:
--   'owners'            a token revoked or re-pointed, a POC's state, role or activity
--                       changed, a member state's participation changed (or any of
--                       these rows deleted): every token kept is forgotten;
--   'inquiry <id>'      an inquiry updated or deleted: it is forgotten;
--   'truncated'         the inquiries truncated: everything kept is forgotten.
-- A new token or inquiry notifies no one: nothing unknown is kept. A token's
-- last_used_at (written once a minute while it is used) notifies no one either.

-- The payload is the trigger's argument: 'owners' or 'truncated'.
CREATE FUNCTION cbm2_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cbm2_changes', TG_ARGV[0]);
    RETURN NULL;
END
$$;

CREATE FUNCTION cbm2_notify_inquiry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('cbm2_changes', 'inquiry ' || OLD.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER tokens_notify_update AFTER UPDATE ON tokens FOR EACH ROW
    WHEN (ROW(OLD.id, OLD.token_hash, OLD.kind, OLD.poc_id, OLD.revoked_at)
          IS DISTINCT FROM ROW(NEW.id, NEW.token_hash, NEW.kind, NEW.poc_id, NEW.revoked_at))
    EXECUTE FUNCTION cbm2_notify('owners');
CREATE TRIGGER tokens_notify_delete AFTER DELETE OR TRUNCATE ON tokens FOR EACH STATEMENT
    EXECUTE FUNCTION cbm2_notify('owners');
CREATE TRIGGER pocs_notify_update AFTER UPDATE ON pocs FOR EACH ROW
    WHEN (ROW(OLD.id, OLD.member_state, OLD.role, OLD.active)
          IS DISTINCT FROM ROW(NEW.id, NEW.member_state, NEW.role, NEW.active))
    EXECUTE FUNCTION cbm2_notify('owners');
CREATE TRIGGER pocs_notify_delete AFTER DELETE OR TRUNCATE ON pocs FOR EACH STATEMENT
    EXECUTE FUNCTION cbm2_notify('owners');
CREATE TRIGGER member_states_notify_update AFTER UPDATE ON member_states FOR EACH ROW
    WHEN (ROW(OLD.code, OLD.participating) IS DISTINCT FROM ROW(NEW.code, NEW.participating))
    EXECUTE FUNCTION cbm2_notify('owners');
CREATE TRIGGER member_states_notify_delete AFTER DELETE OR TRUNCATE ON member_states
    FOR EACH STATEMENT EXECUTE FUNCTION cbm2_notify('owners');

CREATE TRIGGER inquiries_notify AFTER UPDATE OR DELETE ON inquiries FOR EACH ROW
    EXECUTE FUNCTION cbm2_notify_inquiry();
-- TRUNCATE names no row.
CREATE TRIGGER inquiries_notify_truncate AFTER TRUNCATE ON inquiries FOR EACH STATEMENT
    EXECUTE FUNCTION cbm2_notify('truncated');
