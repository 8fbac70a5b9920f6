-- Advisory re-imports decide from columns instead of reading stored documents: content_hash is the
-- SHA-256 of the document's UTF-8 bytes, compared with the incoming document's, and modified decides
-- newer-wins. Rows stored before this migration have no hash; the next import that meets one compares
-- its document once and fills the hash in. The table is rebuilt so that the small columns come before
-- the document: a lookup by id then reads no overflow pages of a large document.
CREATE TABLE advisories_0008 (
    id           TEXT PRIMARY KEY,
    source       TEXT NOT NULL,
    modified     BIGINT,
    withdrawn    BIGINT,
    content_hash BLOB,
    imported_at  BIGINT NOT NULL,
    document     TEXT NOT NULL
);
INSERT INTO advisories_0008 (id, source, modified, withdrawn, content_hash, imported_at, document)
    SELECT id, source, modified, withdrawn, NULL, imported_at, document FROM advisories;
DROP TABLE advisories;
ALTER TABLE advisories_0008 RENAME TO advisories;
