-- +goose Up
-- Registry developer accounts (DESIGN.md §6.1). Times are timestamptz.
CREATE TABLE developers (
    id                TEXT PRIMARY KEY,
    email             TEXT NOT NULL,
    name              TEXT NOT NULL,
    password_hash     TEXT NOT NULL,
    role              TEXT NOT NULL DEFAULT 'developer' CHECK (role IN ('developer', 'admin')),
    email_verified_at TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX developers_email ON developers (email);

CREATE TABLE email_verifications (
    token_hash   TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL REFERENCES developers (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ
);
CREATE INDEX email_verifications_developer ON email_verifications (developer_id);

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    developer_id  TEXT NOT NULL REFERENCES developers (id) ON DELETE CASCADE,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ,
    revoke_reason TEXT
);
CREATE INDEX sessions_developer ON sessions (developer_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE recovery_keys (
    id           TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL REFERENCES developers (id) ON DELETE CASCADE,
    key_hash     TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    used_at      TIMESTAMPTZ
);
CREATE INDEX recovery_keys_developer ON recovery_keys (developer_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL REFERENCES developers (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_keys_developer ON api_keys (developer_id, id);

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE api_keys;
DROP TABLE recovery_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE email_verifications;
DROP TABLE developers;
