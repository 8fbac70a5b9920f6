-- Response orchestrator: playbooks, durable runs with per-step state, approvals, sealed secrets.
CREATE TABLE playbooks (
    id         TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    version    INTEGER NOT NULL,
    source     TEXT NOT NULL,
    enabled    BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    UNIQUE (tenant_id, name_key)
);

CREATE TABLE playbook_runs (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    playbook_id      TEXT,
    playbook_name    TEXT NOT NULL,
    playbook_version INTEGER NOT NULL,
    definition       TEXT NOT NULL,
    state            INTEGER NOT NULL,
    trigger_kind     TEXT NOT NULL,
    trigger_key      TEXT,
    trigger_doc      TEXT NOT NULL,
    input            TEXT NOT NULL,
    outputs          TEXT,
    error            TEXT,
    dry_run          BOOLEAN NOT NULL,
    cancel_requested BOOLEAN NOT NULL,
    wake_at          BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_until      BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    created_by       TEXT NOT NULL,
    UNIQUE (tenant_id, playbook_name, trigger_key)
);
CREATE INDEX ix_playbook_runs_runnable ON playbook_runs (tenant_id, state, wake_at);
CREATE INDEX ix_playbook_runs_created ON playbook_runs (tenant_id, created_at);

CREATE TABLE playbook_steps (
    tenant_id   TEXT NOT NULL REFERENCES tenants(id),
    run_id      TEXT NOT NULL REFERENCES playbook_runs(id),
    step_key    TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    state       INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    input       TEXT,
    output      TEXT,
    error       TEXT,
    attempt_log TEXT,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    wake_at     BIGINT,
    PRIMARY KEY (run_id, step_key)
);

CREATE TABLE playbook_approvals (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    run_id        TEXT NOT NULL REFERENCES playbook_runs(id),
    step_key      TEXT NOT NULL,
    playbook_name TEXT NOT NULL,
    message       TEXT NOT NULL,
    approvers     TEXT NOT NULL,
    on_timeout    TEXT NOT NULL,
    state         INTEGER NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    decided_by    TEXT,
    decided_at    BIGINT,
    comment       TEXT,
    UNIQUE (run_id, step_key)
);
CREATE INDEX ix_playbook_approvals_state ON playbook_approvals (tenant_id, state, expires_at);

CREATE TABLE response_secrets (
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    sealed_value TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name_key)
);
