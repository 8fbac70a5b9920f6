-- Reporting: generated report files kept for download until their retention ends, and per-tenant schedules.
CREATE TABLE report_artifacts (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    kind        TEXT NOT NULL,
    format      TEXT NOT NULL,
    title       TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    media_type  TEXT NOT NULL,
    size_bytes  INTEGER NOT NULL,
    sha256      TEXT NOT NULL,
    parameters  TEXT NOT NULL,
    period_from INTEGER NOT NULL,
    period_to   INTEGER NOT NULL,
    empty       BOOLEAN NOT NULL,
    schedule_id TEXT,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    expires_at  INTEGER NOT NULL,
    content     BLOB NOT NULL
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
    next_run_at    INTEGER,
    last_run_at    INTEGER,
    last_job_id    TEXT,
    created_at     INTEGER NOT NULL,
    created_by     TEXT NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (tenant_id, name_key)
);
CREATE INDEX ix_report_schedules_due ON report_schedules (tenant_id, enabled, next_run_at);
