-- Analysis runs (upload or advisory change) with the diff of new and resolved findings, and
-- full-text search over components (FTS5, kept in step with the components table by triggers).
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

-- Tokens are runs of letters and digits (every other character separates), as on PostgreSQL.
CREATE VIRTUAL TABLE components_fts USING fts5(name, purl, content = 'components', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2');

CREATE TRIGGER components_fts_insert AFTER INSERT ON components BEGIN
    INSERT INTO components_fts (rowid, name, purl) VALUES (new.rowid, new.name, new.purl);
END;
CREATE TRIGGER components_fts_delete AFTER DELETE ON components BEGIN
    INSERT INTO components_fts (components_fts, rowid, name, purl) VALUES ('delete', old.rowid, old.name, old.purl);
END;
CREATE TRIGGER components_fts_update AFTER UPDATE ON components BEGIN
    INSERT INTO components_fts (components_fts, rowid, name, purl) VALUES ('delete', old.rowid, old.name, old.purl);
    INSERT INTO components_fts (rowid, name, purl) VALUES (new.rowid, new.name, new.purl);
END;
INSERT INTO components_fts (components_fts) VALUES ('rebuild');
