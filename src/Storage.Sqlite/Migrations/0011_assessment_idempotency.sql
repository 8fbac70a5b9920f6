-- An assessment requested by a playbook step carries the step's idempotency key, so a retried step
-- finds the assessment its earlier attempt queued instead of queuing a second one.
ALTER TABLE risk_assessments ADD COLUMN idempotency_key TEXT;
CREATE UNIQUE INDEX ux_risk_assessments_idempotency ON risk_assessments (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
