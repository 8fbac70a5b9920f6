-- Reporting: generated report files kept for download until their retention ends, and per-tenant schedules.
CREATE TABLE report_artifacts (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    kind        TEXT NOT NULL,
    format      TEXT NOT NULL,
    title       TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    size_bytes  BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    parameters  TEXT NOT NULL,
    period_from BIGINT NOT NULL,
    period_to   BIGINT NOT NULL,
    empty       BOOLEAN NOT NULL,
    schedule_id TEXT,
    created_at  BIGINT NOT NULL,
    created_by  TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    content     BYTEA NOT NULL
);
CREATE INDEX ix_report_artifacts_created ON report_artifacts (tenant_id, created_at);
CREATE INDEX ix_report_artifacts_expires ON report_artifacts (tenant_id, expires_at);

CREATE TABLE report_schedules (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    name           TEXT NOT NULL,
    name_key       TEXT NOT NULL,
    cron           TEXT NOT NULL,
    time_zone      TEXT NOT NULL,
    kind           TEXT NOT NULL,
    format         TEXT NOT NULL,
    parameters     TEXT NOT NULL,
    retention_days INTEGER NOT NULL,
    enabled        BOOLEAN NOT NULL,
    next_run_at    BIGINT,
    last_run_at    BIGINT,
    last_job_id    TEXT,
    created_at     BIGINT NOT NULL,
    created_by     TEXT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (tenant_id, name_key)
);
CREATE INDEX ix_report_schedules_due ON report_schedules (tenant_id, enabled, next_run_at);

-- Row-level security on the tenant-owned tables, as in 0001.
ALTER TABLE report_artifacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_artifacts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON report_artifacts
    USING (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id))
    WITH CHECK (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id));
ALTER TABLE report_schedules ENABLE ROW LEVEL SECURITY;
ALTER TABLE report_schedules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON report_schedules
    USING (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id))
    WITH CHECK (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id));
