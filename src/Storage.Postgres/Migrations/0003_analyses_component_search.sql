-- Analysis runs (upload or advisory change) with the diff of new and resolved findings, and
-- full-text search over components (a generated tsvector with a GIN index).
CREATE TABLE analyses (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    project_id TEXT NOT NULL REFERENCES projects(id),
    sbom_id    TEXT NOT NULL REFERENCES sbom_versions(id),
    trigger    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    findings   INTEGER NOT NULL,
    added      INTEGER NOT NULL,
    resolved   INTEGER NOT NULL,
    diff       TEXT NOT NULL
);
CREATE INDEX ix_analyses_project ON analyses (tenant_id, project_id, created_at);

ALTER TABLE analyses ENABLE ROW LEVEL SECURITY;
ALTER TABLE analyses FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON analyses
    USING (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id))
    WITH CHECK (COALESCE(current_setting('app.tenant_id', true), '') IN ('', tenant_id));

-- Tokens are runs of letters and digits (every other character separates), as on SQLite's FTS5 unicode61.
ALTER TABLE components ADD COLUMN search tsvector GENERATED ALWAYS AS (
    to_tsvector('simple'::regconfig, regexp_replace(lower(coalesce(name, '') || ' ' || coalesce(purl, '')), '[^[:alnum:]]+', ' ', 'g'))
) STORED;
CREATE INDEX ix_components_search ON components USING GIN (search);
