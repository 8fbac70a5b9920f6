-- The events kept with an alert live in their own table: merging a repeat match rewrites the small alert row
-- (count, last seen), not the kept events, so a batch of merges writes far fewer pages.
CREATE TABLE alert_samples (
    alert_id  TEXT PRIMARY KEY REFERENCES alerts(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    samples   BYTEA NOT NULL
);
INSERT INTO alert_samples (alert_id, tenant_id, samples) SELECT id, tenant_id, samples FROM alerts;
ALTER TABLE alerts DROP COLUMN samples;

-- Row-level security as on the other tenant-owned tables.
ALTER TABLE alert_samples ENABLE ROW LEVEL SECURITY;
ALTER TABLE alert_samples FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alert_samples
    USING (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id))
    WITH CHECK (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id));
