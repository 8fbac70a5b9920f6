-- The latest alert of a rule and entities is read as "WHERE tenant_id = ? AND rule_id = ? AND dedupe_key = ?
-- ORDER BY last_seen DESC, id DESC LIMIT 1"; with id in the index that order comes from the index, no sort.
DROP INDEX ix_alerts_dedupe;
CREATE INDEX ix_alerts_dedupe ON alerts (tenant_id, rule_id, dedupe_key, last_seen, id);
