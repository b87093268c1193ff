-- +goose Up
-- The governance-controlled parameter set is ledger state: the head carries the canonical text of
-- the set in force ('' while the configured set, version 1, is), and teg_params indexes the log's
-- params events by version (the sets themselves are in those events).
ALTER TABLE teg_head ADD COLUMN params TEXT NOT NULL DEFAULT '';
CREATE TABLE teg_params (
    version INTEGER PRIMARY KEY,
    seq     BIGINT NOT NULL UNIQUE
);

-- +goose Down
DROP TABLE teg_params;
ALTER TABLE teg_head DROP COLUMN params;
