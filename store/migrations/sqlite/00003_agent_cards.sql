-- +goose Up
-- Agent cards (DESIGN.md §6.2–6.3). card is the canonical ProtoJSON of the A2A v1.0 AgentCard;
-- name…capabilities are what discovery filters and ranks on. seq orders every change (the
-- change feed replicas and federation peers follow); it is assigned under the single writer.
-- Lists (tags, skills, capabilities) are joined by U+001F.
CREATE TABLE agent_cards (
    rid               INTEGER PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    seq               INTEGER NOT NULL UNIQUE,
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
    card              BLOB NOT NULL,
    etag              TEXT NOT NULL,
    source_version    TEXT NOT NULL,
    signature_status  TEXT NOT NULL CHECK (signature_status IN ('unsigned', 'verified', 'invalid')),
    signatures        TEXT NOT NULL,
    signed_only       INTEGER NOT NULL,
    agent_did         TEXT NOT NULL DEFAULT '',
    spiffe_id         TEXT NOT NULL DEFAULT '',
    origin_registry   TEXT NOT NULL DEFAULT '',
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    deleted_at        TEXT,
    last_heartbeat_at TEXT
) STRICT;
CREATE INDEX agent_cards_owner ON agent_cards (owner_id, id);

-- Every version of every card, for history.
CREATE TABLE agent_card_versions (
    card_id    TEXT NOT NULL,
    version    INTEGER NOT NULL,
    change     TEXT NOT NULL CHECK (change IN ('created', 'updated', 'deleted')),
    card       BLOB NOT NULL,
    changed_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (card_id, version)
) STRICT, WITHOUT ROWID;

-- Exact-match filter values: kind t (tag), s (skill id), c (capability).
CREATE TABLE agent_card_terms (
    kind    TEXT NOT NULL,
    value   TEXT NOT NULL,
    card_id TEXT NOT NULL,
    PRIMARY KEY (kind, value, card_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX agent_card_terms_card ON agent_card_terms (card_id);

-- Full text over pre-tokenized columns (discovery.SearchText), rowid = agent_cards.rid.
CREATE VIRTUAL TABLE agent_cards_fts USING fts5 (
    name, description, skills, tags,
    content = '', contentless_delete = 1, tokenize = 'unicode61 remove_diacritics 0'
);

-- +goose Down
DROP TABLE agent_cards_fts;
DROP TABLE agent_card_terms;
DROP TABLE agent_card_versions;
DROP TABLE agent_cards;
