-- +goose Up
-- The active-agents gauge counts active agents by their last heartbeat at every scrape: an index
-- keeps that a range read however many agents there are.
CREATE INDEX agents_active_heartbeat ON agents (last_heartbeat_at) WHERE status = 'active';

-- +goose Down
DROP INDEX agents_active_heartbeat;
