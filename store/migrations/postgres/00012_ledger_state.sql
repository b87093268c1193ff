-- +goose Up
-- The ledger's keyed state: the records of staking (pools, delegations, unbonding and
-- redelegation entries, the epoch clock), each a canonical JSON text under a key. Every change is
-- also in the data of the log event that made it, so teg verify rebuilds this table from the log.
-- Keys compare bytewise (COLLATE "C"), so a prefix is one index range.
CREATE TABLE teg_state (
    key   TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE teg_state;
