-- +goose Up
-- The starting grant each agent received at registration (the Fixed form of its AVT amount), so
-- the daily cap on one developer's grants is counted from the store and every replica agrees.
-- Agents registered before this migration have none recorded (NULL) and do not count.
ALTER TABLE agents ADD COLUMN starting_grant TEXT CHECK (starting_grant IS NULL OR length(starting_grant) = 39);
CREATE INDEX agents_developer_created ON agents (developer_id, created_at);

-- +goose Down
DROP INDEX agents_developer_created;
ALTER TABLE agents DROP COLUMN starting_grant;
