-- Risk: asset inventory with business context, risk assessments (request and report), and daily
-- snapshots of entity scores plus the encoded per-finding scores used for "what changed" diffs.
CREATE TABLE assets (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    name             TEXT NOT NULL,
    name_key         TEXT NOT NULL,
    kind             TEXT NOT NULL,
    tier             INTEGER NOT NULL,
    owner            TEXT,
    environment      TEXT NOT NULL,
    internet_facing  BOOLEAN NOT NULL,
    data_class       INTEGER NOT NULL,
    business_service TEXT,
    tags             TEXT NOT NULL,
    projects         TEXT NOT NULL,
    hosts            TEXT NOT NULL,
    requirements     TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    UNIQUE (tenant_id, name_key)
);

CREATE TABLE risk_assessments (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    state        INTEGER NOT NULL,
    request      TEXT NOT NULL,
    result       TEXT,
    error        TEXT,
    job_id       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    completed_at BIGINT,
    created_by   TEXT NOT NULL
);
CREATE INDEX ix_risk_assessments_tenant ON risk_assessments (tenant_id, created_at);

CREATE TABLE risk_snapshots (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    day         BIGINT NOT NULL,
    entity_kind TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    entity_name TEXT,
    score       REAL NOT NULL,
    level       TEXT NOT NULL,
    findings    INTEGER NOT NULL,
    critical    INTEGER NOT NULL,
    high        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, entity_kind, entity_id, day)
);

CREATE TABLE risk_snapshot_findings (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    day        BIGINT NOT NULL,
    data       BLOB NOT NULL,
    written_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
