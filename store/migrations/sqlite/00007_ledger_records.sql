-- +goose Up
-- The ledger's log, version 2 (docs/ARCHITECTURE.md, "Ledger storage"). One row per applied
-- command holds its event and its transfer (they share seq and id) as a compact binary record;
-- the id's unique index is the idempotency index. Pending transfers' state lives in teg_pending.
-- The version 1 tables are kept under _v1 names until the ledger, on opening, rewrites their rows
-- into these tables and drops them.
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

-- Each account's history is a list linked through the log: an entry records, for its from and to
-- accounts, the seq of each one's previous entry, and the account row the seq of its newest.
ALTER TABLE teg_accounts ADD COLUMN log_seq INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE teg_accounts DROP COLUMN log_seq;
DROP TABLE teg_pending;
DROP TABLE teg_events;
ALTER TABLE teg_transfers_v1 RENAME TO teg_transfers;
ALTER TABLE teg_events_v1 RENAME TO teg_events;
