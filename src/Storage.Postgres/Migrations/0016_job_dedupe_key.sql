-- A job can carry a deduplication key: several processes sharing the store that react to the same change
-- (an advisory import seen by every node) queue one job between them.
ALTER TABLE jobs ADD COLUMN dedupe_key TEXT;
CREATE UNIQUE INDEX ux_jobs_dedupe ON jobs (tenant_id, kind, dedupe_key) WHERE dedupe_key IS NOT NULL;
