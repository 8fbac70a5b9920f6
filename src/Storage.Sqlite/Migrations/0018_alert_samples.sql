-- The events kept with an alert live in their own table: merging a repeat match rewrites the small alert row
-- (count, last seen), not the kept events, so a batch of merges writes far fewer pages.
CREATE TABLE alert_samples (
    alert_id  TEXT PRIMARY KEY REFERENCES alerts(id),
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    samples   BLOB NOT NULL
);
INSERT INTO alert_samples (alert_id, tenant_id, samples) SELECT id, tenant_id, samples FROM alerts;
ALTER TABLE alerts DROP COLUMN samples;
