-- +goose Up
-- Money controls: an account's status (active, suspended, revoked: value leaves only an active
-- account), what it sent in the last 24 hours as hour buckets (a compact binary list, for the
-- daily limits the ledger checks), and the AVT ever minted at the head (the supply bound). The
-- ledger fills minted in from the log when it opens a store migrated from an earlier version.
ALTER TABLE teg_accounts ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE teg_accounts ADD COLUMN spent BYTEA NOT NULL DEFAULT ''::bytea;
ALTER TABLE teg_head ADD COLUMN minted NUMERIC(78,0);

-- +goose Down
ALTER TABLE teg_head DROP COLUMN minted;
ALTER TABLE teg_accounts DROP COLUMN spent;
ALTER TABLE teg_accounts DROP COLUMN status;
