-- Detection: alerts, incidents, per-tenant rule settings and correlation checkpoints.
CREATE TABLE incidents (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    title         TEXT NOT NULL,
    entity_key    TEXT NOT NULL,
    level_rank    INTEGER NOT NULL,
    status        INTEGER NOT NULL,
    status_reason TEXT,
    assignee      TEXT,
    first_seen    BIGINT NOT NULL,
    last_seen     BIGINT NOT NULL,
    alert_count   INTEGER NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX ix_incidents_entity ON incidents (tenant_id, entity_key, status, last_seen);
CREATE INDEX ix_incidents_first ON incidents (tenant_id, first_seen, id);

CREATE TABLE alerts (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    rule_id        TEXT NOT NULL,
    rule_title     TEXT NOT NULL,
    level_rank     INTEGER NOT NULL,
    author         TEXT,
    rule_file      TEXT,
    dedupe_key     TEXT NOT NULL,
    host           TEXT,
    user_name      TEXT,
    process        TEXT,
    src_ip         TEXT,
    dst_ip         TEXT,
    attack         TEXT NOT NULL,
    matched_fields TEXT NOT NULL,
    samples        BYTEA NOT NULL,
    first_seen     BIGINT NOT NULL,
    last_seen      BIGINT NOT NULL,
    count          BIGINT NOT NULL,
    suppressed     BIGINT NOT NULL,
    status         INTEGER NOT NULL,
    status_reason  TEXT,
    closed_at      BIGINT,
    assignee       TEXT,
    incident_id    TEXT REFERENCES incidents(id),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX ix_alerts_dedupe ON alerts (tenant_id, rule_id, dedupe_key, last_seen);
CREATE INDEX ix_alerts_first ON alerts (tenant_id, first_seen, id);
CREATE INDEX ix_alerts_incident ON alerts (tenant_id, incident_id);

CREATE TABLE detection_rules (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    rule_id    TEXT NOT NULL,
    title      TEXT,
    enabled    BOOLEAN NOT NULL,
    yaml       TEXT,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    PRIMARY KEY (tenant_id, rule_id)
);

CREATE TABLE correlation_checkpoints (
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    checkpoint_key TEXT NOT NULL,
    state      BYTEA NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, checkpoint_key)
);

-- Row-level security on the tenant-owned tables, as in 0001.
ALTER TABLE incidents ENABLE ROW LEVEL SECURITY;
ALTER TABLE incidents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON incidents
    USING (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id))
    WITH CHECK (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id));
ALTER TABLE alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON alerts
    USING (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id))
    WITH CHECK (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id));
ALTER TABLE detection_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE detection_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON detection_rules
    USING (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id))
    WITH CHECK (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id));
ALTER TABLE correlation_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE correlation_checkpoints FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON correlation_checkpoints
    USING (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id))
    WITH CHECK (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id));
