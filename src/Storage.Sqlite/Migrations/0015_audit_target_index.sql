-- The history of one object (a finding's state changes, a run's decisions) is read from the audit log by
-- target; this index serves "WHERE tenant_id = ? AND target = ? AND seq > ? ORDER BY seq LIMIT n".
CREATE INDEX ix_audit_tenant_target_seq ON audit_log (tenant_id, target, seq);
