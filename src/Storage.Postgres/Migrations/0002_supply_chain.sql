-- Supply chain: projects, SBOM versions (with the original document), components, dependency edges,
-- findings; and the shared advisory database (not tenant data).
CREATE TABLE projects (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name_key)
);

CREATE TABLE sbom_versions (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants(id),
    project_id      TEXT NOT NULL REFERENCES projects(id),
    label           TEXT NOT NULL,
    format          TEXT NOT NULL,
    spec_version    TEXT NOT NULL,
    serial          TEXT,
    sha256          TEXT NOT NULL,
    component_count INTEGER NOT NULL,
    uploaded_at     BIGINT NOT NULL,
    uploaded_by     TEXT NOT NULL,
    document        BYTEA NOT NULL
);
CREATE INDEX ix_sbom_versions_project ON sbom_versions (tenant_id, project_id, uploaded_at);

CREATE TABLE components (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    sbom_id     TEXT NOT NULL REFERENCES sbom_versions(id),
    ref         TEXT NOT NULL,
    name        TEXT NOT NULL,
    version     TEXT,
    purl        TEXT,
    ecosystem   TEXT,
    package_key TEXT,
    type        TEXT NOT NULL,
    parent_ref  TEXT,
    PRIMARY KEY (sbom_id, ref)
);
CREATE INDEX ix_components_package ON components (tenant_id, ecosystem, package_key);

CREATE TABLE component_edges (
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    sbom_id   TEXT NOT NULL REFERENCES sbom_versions(id),
    from_ref  TEXT NOT NULL,
    to_ref    TEXT NOT NULL,
    PRIMARY KEY (sbom_id, from_ref, to_ref)
);
CREATE INDEX ix_component_edges_to ON component_edges (sbom_id, to_ref);

CREATE TABLE findings (
    id             TEXT PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants(id),
    project_id     TEXT NOT NULL REFERENCES projects(id),
    sbom_id        TEXT NOT NULL REFERENCES sbom_versions(id),
    component_ref  TEXT NOT NULL,
    purl           TEXT,
    vuln_id        TEXT NOT NULL,
    aliases        TEXT NOT NULL,
    severity       TEXT NOT NULL,
    score          DOUBLE PRECISION,
    fixed_versions TEXT NOT NULL,
    explanation    TEXT NOT NULL,
    state          INTEGER NOT NULL,
    state_reason   TEXT,
    first_seen     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (sbom_id, component_ref, vuln_id)
);
CREATE INDEX ix_findings_tenant ON findings (tenant_id, project_id, state);

CREATE TABLE advisories (
    id          TEXT PRIMARY KEY,
    source      TEXT NOT NULL,
    modified    BIGINT,
    withdrawn   BIGINT,
    document    TEXT NOT NULL,
    imported_at BIGINT NOT NULL
);

-- Whole feed files that are parsed on load (CISA KEV, EPSS), by source name.
CREATE TABLE feed_documents (
    source      TEXT PRIMARY KEY,
    document    BYTEA NOT NULL,
    imported_at BIGINT NOT NULL
);

CREATE TABLE feed_status (
    source      TEXT PRIMARY KEY,
    records     BIGINT NOT NULL,
    last_import BIGINT NOT NULL,
    detail      TEXT
);

-- Row-level security on the tenant-owned tables, as in 0001.
ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE projects FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON projects
    USING (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id))
    WITH CHECK (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id));
ALTER TABLE sbom_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sbom_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sbom_versions
    USING (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id))
    WITH CHECK (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id));
ALTER TABLE components ENABLE ROW LEVEL SECURITY;
ALTER TABLE components FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON components
    USING (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id))
    WITH CHECK (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id));
ALTER TABLE component_edges ENABLE ROW LEVEL SECURITY;
ALTER TABLE component_edges FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON component_edges
    USING (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id))
    WITH CHECK (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id));
ALTER TABLE findings ENABLE ROW LEVEL SECURITY;
ALTER TABLE findings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON findings
    USING (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id))
    WITH CHECK (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id));
