-- Findings are paged in id order within one SBOM version (reports, the analysis diff) or one project
-- (the findings explorer); these indexes serve "WHERE sbom_id/project_id = ? AND id > ? ORDER BY id LIMIT n"
-- without sorting the whole set for every page.
CREATE INDEX ix_findings_sbom_id ON findings (sbom_id, id);
CREATE INDEX ix_findings_project_id ON findings (tenant_id, project_id, id);
