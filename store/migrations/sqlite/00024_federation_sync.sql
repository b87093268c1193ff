-- +goose Up
-- Federation sync. A replicated card is a row of agent_cards whose origin_registry is the
-- trust domain of the peer it came from (read-only here); origin_seq is the position of its
-- last change in the origin's feed (a later change wins, an earlier one is stale);
-- origin_reputation is the origin's signed portable reputation of the agent, as it sent it.
-- federation_sync_cursors keeps, per peer, where this registry stands in the peer's change feed.
ALTER TABLE agent_cards ADD COLUMN origin_reputation TEXT NOT NULL DEFAULT '';
ALTER TABLE agent_cards ADD COLUMN origin_seq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX agent_cards_origin ON agent_cards (origin_registry, id) WHERE origin_registry <> '';

CREATE TABLE federation_sync_cursors (
    trust_domain TEXT PRIMARY KEY,
    cursor       TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE federation_sync_cursors;
DROP INDEX agent_cards_origin;
ALTER TABLE agent_cards DROP COLUMN origin_seq;
ALTER TABLE agent_cards DROP COLUMN origin_reputation;
