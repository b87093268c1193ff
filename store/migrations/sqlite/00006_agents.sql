-- +goose Up
-- Onboarding (DESIGN.md §6.4): single-use bootstrap tokens (stored hashed) and registered agents
-- with their identity and OAuth2 client credentials (the secret stored hashed).
CREATE TABLE bootstrap_tokens (
    id           TEXT PRIMARY KEY,
    developer_id TEXT NOT NULL REFERENCES developers (id) ON DELETE CASCADE,
    hash         TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT,
    revoked_at   TEXT,
    agent_id     TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX bootstrap_tokens_developer ON bootstrap_tokens (developer_id, id);

CREATE TABLE agents (
    id                TEXT PRIMARY KEY,
    developer_id      TEXT NOT NULL REFERENCES developers (id),
    did               TEXT NOT NULL UNIQUE,
    spiffe_id         TEXT NOT NULL UNIQUE,
    public_key        BLOB NOT NULL,
    client_id         TEXT NOT NULL UNIQUE,
    secret_hash       TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'active', 'suspended', 'revoked')),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    last_heartbeat_at TEXT
) STRICT;
CREATE INDEX agents_developer ON agents (developer_id, id);

-- +goose Down
DROP TABLE agents;
DROP TABLE bootstrap_tokens;
