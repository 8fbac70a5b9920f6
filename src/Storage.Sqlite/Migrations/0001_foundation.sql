-- Foundation: tenants, users, API keys, the hash-chained audit log, jobs.
-- Times are Unix milliseconds (BIGINT) in every provider.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,
    is_operator BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    audit_seq   BIGINT NOT NULL DEFAULT 0,
    audit_head  TEXT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants(id),
    name          TEXT NOT NULL,
    name_key      TEXT NOT NULL,
    email         TEXT,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    UNIQUE (tenant_id, name_key)
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    tenant_id    TEXT NOT NULL REFERENCES tenants(id),
    name         TEXT NOT NULL,
    name_key     TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT,
    UNIQUE (tenant_id, name_key)
);

CREATE TABLE audit_log (
    row_id     INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  TEXT NOT NULL REFERENCES tenants(id),
    seq        BIGINT NOT NULL,
    time       BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    summary    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE UNIQUE INDEX ix_audit_tenant_seq ON audit_log (tenant_id, seq);

CREATE TABLE jobs (
    id               TEXT PRIMARY KEY,
    tenant_id        TEXT NOT NULL REFERENCES tenants(id),
    kind             TEXT NOT NULL,
    state            INTEGER NOT NULL,
    progress         INTEGER NOT NULL DEFAULT 0,
    message          TEXT,
    error            TEXT,
    payload          TEXT NOT NULL,
    result           TEXT,
    attempts         INTEGER NOT NULL DEFAULT 0,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    created_by       TEXT NOT NULL,
    runner           TEXT,
    lease_until      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX ix_jobs_claim ON jobs (state, created_at);
CREATE INDEX ix_jobs_tenant ON jobs (tenant_id, created_at);
