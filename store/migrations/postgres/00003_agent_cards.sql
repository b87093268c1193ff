-- +goose Up
-- Agent cards (DESIGN.md §6.2–6.3); see the SQLite migration for the columns. search is the
-- full-text vector of the pre-tokenized text (discovery.SearchText) with weights A name,
-- B skills and tags, D description; seq is assigned under a transaction-scoped advisory lock so
-- that changes commit in seq order.
CREATE TABLE agent_cards (
    id                TEXT PRIMARY KEY,
    seq               BIGINT NOT NULL UNIQUE,
    owner_id          TEXT NOT NULL REFERENCES developers (id),
    slug              TEXT NOT NULL UNIQUE,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL,
    skill_text        TEXT NOT NULL,
    tags              TEXT NOT NULL,
    skills            TEXT NOT NULL,
    capabilities      TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'suspended', 'revoked')),
    version           INTEGER NOT NULL,
    card              BYTEA NOT NULL,
    etag              TEXT NOT NULL,
    source_version    TEXT NOT NULL,
    signature_status  TEXT NOT NULL CHECK (signature_status IN ('unsigned', 'verified', 'invalid')),
    signatures        TEXT NOT NULL,
    signed_only       BOOLEAN NOT NULL,
    agent_did         TEXT NOT NULL DEFAULT '',
    spiffe_id         TEXT NOT NULL DEFAULT '',
    origin_registry   TEXT NOT NULL DEFAULT '',
    search            TSVECTOR,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    deleted_at        TIMESTAMPTZ,
    last_heartbeat_at TIMESTAMPTZ
);
CREATE INDEX agent_cards_owner ON agent_cards (owner_id, id);
CREATE INDEX agent_cards_search ON agent_cards USING GIN (search);

CREATE TABLE agent_card_versions (
    card_id    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    change     TEXT NOT NULL CHECK (change IN ('created', 'updated', 'deleted')),
    card       BYTEA NOT NULL,
    changed_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (card_id, version)
);

CREATE TABLE agent_card_terms (
    kind    TEXT NOT NULL,
    value   TEXT NOT NULL,
    card_id TEXT NOT NULL,
    PRIMARY KEY (kind, value, card_id)
);
CREATE INDEX agent_card_terms_card ON agent_card_terms (card_id);

-- +goose Down
DROP TABLE agent_card_terms;
DROP TABLE agent_card_versions;
DROP TABLE agent_cards;
