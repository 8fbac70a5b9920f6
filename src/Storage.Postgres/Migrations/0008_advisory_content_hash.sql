-- Advisory re-imports decide from columns instead of reading stored documents: content_hash is the
-- SHA-256 of the document's UTF-8 bytes, compared with the incoming document's, and modified decides
-- newer-wins. Rows stored before this migration have no hash; the next import that meets one compares
-- its document once and fills the hash in. (Advisories are shared data, not tenant data: no tenant_id
-- and no row-level security, as in 0002.)
ALTER TABLE advisories ADD COLUMN content_hash BYTEA;
