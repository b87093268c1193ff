-- +goose Up
-- Federation sync; see the SQLite migration.
ALTER TABLE agent_cards ADD COLUMN origin_reputation TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_cards ADD COLUMN origin_seq BIGINT NOT NULL DEFAULT 0;
CREATE INDEX agent_cards_origin ON agent_cards (origin_registry, id) WHERE origin_registry <> '';

CREATE TABLE federation_sync_cursors (
    trust_domain TEXT COLLATE "C" PRIMARY KEY,
    cursor       TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE federation_sync_cursors;
DROP INDEX agent_cards_origin;
ALTER TABLE agent_cards DROP COLUMN origin_seq;
ALTER TABLE agent_cards DROP COLUMN origin_reputation;
