-- +goose Up
-- The ledger's keyed state: the records of staking (pools, delegations, unbonding and
-- redelegation entries, the epoch clock), each a canonical JSON text under a key. Every change is
-- also in the data of the log event that made it, so teg verify rebuilds this table from the log.
CREATE TABLE teg_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE teg_state;
