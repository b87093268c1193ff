-- +goose Up
-- Registry developer accounts (DESIGN.md §6.1). Times are fixed-width UTC text (store.Time).
CREATE TABLE developers (
    id                TEXT PRIMARY KEY,
    email             TEXT NOT NULL,
    name              TEXT NOT NULL,
    password_hash     TEXT NOT NULL,
    role              TEXT NOT NULL DEFAULT 'developer' CHECK (role IN ('developer', 'admin')),
    email_verified_at TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX developers_email ON developers (email);

CREATE TABLE email_verifications (
    token_hash   TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL REFERENCES developers (id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT
) STRICT;
CREATE INDEX email_verifications_developer ON email_verifications (developer_id);

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    developer_id  TEXT NOT NULL REFERENCES developers (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    revoked_at    TEXT,
    revoke_reason TEXT
) STRICT;
CREATE INDEX sessions_developer ON sessions (developer_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) STRICT;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE recovery_keys (
    id           TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL REFERENCES developers (id) ON DELETE CASCADE,
    key_hash     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    used_at      TEXT
) STRICT;
CREATE INDEX recovery_keys_developer ON recovery_keys (developer_id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL REFERENCES developers (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    prefix       TEXT NOT NULL,
    key_hash     TEXT NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    last_used_at TEXT,
    revoked_at   TEXT
) STRICT;
CREATE INDEX api_keys_developer ON api_keys (developer_id, id);

CREATE TABLE signing_keys (
    id          TEXT PRIMARY KEY,
    algorithm   TEXT NOT NULL,
    private_key BLOB NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE signing_keys;
DROP TABLE api_keys;
DROP TABLE recovery_keys;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE email_verifications;
DROP TABLE developers;
