-- +goose Up
-- A developer account an admin suspended: it cannot sign in, and its sessions and API keys are
-- refused, until an admin reactivates it.
ALTER TABLE developers ADD COLUMN suspended_at TEXT;

-- +goose Down
ALTER TABLE developers DROP COLUMN suspended_at;
