-- +goose Up
-- The ledger's log, version 2 (docs/ARCHITECTURE.md, "Ledger storage"). One row per applied
-- command holds its event and its transfer (they share seq and id) as a compact binary record;
-- the id's unique index is the idempotency index. Pending transfers' state lives in teg_pending,
-- and each account's history in teg_account_log: one row per account per write group, listing the
-- seqs of the group's transfers from or to it. The version 1 tables are kept under _v1 names
-- until the ledger, on opening, rewrites their rows into these tables and drops them.
ALTER TABLE teg_events RENAME TO teg_events_v1;
ALTER TABLE teg_transfers RENAME TO teg_transfers_v1;

CREATE TABLE teg_events (
    seq         INTEGER PRIMARY KEY,
    transfer_id TEXT NOT NULL UNIQUE,
    body        BLOB NOT NULL,
    hash        BLOB NOT NULL
) STRICT;

CREATE TABLE teg_pending (
    id         TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    state      TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX teg_pending_due ON teg_pending (expires_at) WHERE state = 'active';

CREATE TABLE teg_account_log (
    account TEXT NOT NULL,
    seq     INTEGER NOT NULL,
    seqs    BLOB NOT NULL,
    PRIMARY KEY (account, seq)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE teg_account_log;
DROP TABLE teg_pending;
DROP TABLE teg_events;
ALTER TABLE teg_transfers_v1 RENAME TO teg_transfers;
ALTER TABLE teg_events_v1 RENAME TO teg_events;
