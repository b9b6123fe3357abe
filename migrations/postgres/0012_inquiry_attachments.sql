-- cbm2 0012: evidence attached to an inquiry (protocol 1.2). Kept in lockstep with
-- ../sqlite/0012_inquiry_attachments.sql.

-- `attach` records an `attachment_added` event (its SHA-256, size, name and type, in the
-- hash chain); this table keeps the bytes, written in the same transaction, under the
-- event's attachment id. `content` is NULL when the server keeps files in a directory
-- (--attachments-dir), where the file is named by its SHA-256. Evidence is never changed
-- nor removed: the table is append-only, as the events are.
CREATE TABLE inquiry_attachments (
    id         UUID PRIMARY KEY,
    inquiry_id UUID NOT NULL REFERENCES inquiries (id),
    sha256     TEXT NOT NULL CHECK (length(sha256) = 64),
    size       BIGINT NOT NULL CHECK (size >= 0),
    content    BYTEA,
    added_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX inquiry_attachments_by_inquiry ON inquiry_attachments (inquiry_id);

CREATE TRIGGER inquiry_attachments_are_append_only
    BEFORE UPDATE OR DELETE ON inquiry_attachments
    FOR EACH ROW EXECUTE FUNCTION refuse_change_to_append_only_table();

CREATE TRIGGER inquiry_attachments_are_never_truncated
    BEFORE TRUNCATE ON inquiry_attachments
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_change_to_append_only_table();
