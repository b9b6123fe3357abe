-- cbm2 0012: evidence attached to an inquiry (protocol 1.2). Kept in lockstep with
-- ../postgres/0012_inquiry_attachments.sql.

-- `attach` records an `attachment_added` event (its SHA-256, size, name and type, in the
-- hash chain); this table keeps the bytes, written in the same transaction, under the
-- event's attachment id. `content` is NULL when the server keeps files in a directory
-- (--attachments-dir), where the file is named by its SHA-256. Evidence is never changed
-- nor removed: the table is append-only, as the events are.
CREATE TABLE inquiry_attachments (
    id         BLOB PRIMARY KEY,
    inquiry_id BLOB NOT NULL REFERENCES inquiries (id),
    sha256     TEXT NOT NULL CHECK (length(sha256) = 64),
    size       INTEGER NOT NULL CHECK (size >= 0),
    content    BLOB,
    added_at   TEXT NOT NULL
);
CREATE INDEX inquiry_attachments_by_inquiry ON inquiry_attachments (inquiry_id);

CREATE TRIGGER inquiry_attachments_are_never_updated BEFORE UPDATE ON inquiry_attachments
BEGIN
    SELECT RAISE(ABORT, 'inquiry_attachments is append-only');
END;

CREATE TRIGGER inquiry_attachments_are_never_deleted BEFORE DELETE ON inquiry_attachments
BEGIN
    SELECT RAISE(ABORT, 'inquiry_attachments is append-only');
END;
