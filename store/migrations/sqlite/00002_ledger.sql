-- +goose Up
-- The AVT ledger (DESIGN.md §8.1). Amounts are 39-digit zero-padded decimal text of base units
-- (avt.Amount.Fixed): fixed width, so text order is numeric order and values are exact.
CREATE TABLE teg_accounts (
    id         TEXT PRIMARY KEY,
    liquid     TEXT NOT NULL,
    locked     TEXT NOT NULL,
    staked     TEXT NOT NULL,
    unbonding  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE TABLE teg_transfers (
    id           TEXT PRIMARY KEY,
    seq          INTEGER NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    from_account TEXT NOT NULL,
    to_account   TEXT NOT NULL,
    amount       TEXT NOT NULL,
    fee          TEXT NOT NULL,
    message      TEXT NOT NULL,
    pending_id   TEXT NOT NULL,
    held         TEXT NOT NULL,
    state        TEXT NOT NULL,
    expires_at   TEXT,
    fingerprint  TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;
CREATE INDEX teg_transfers_from ON teg_transfers (from_account, seq);
CREATE INDEX teg_transfers_to ON teg_transfers (to_account, seq);
CREATE INDEX teg_transfers_due ON teg_transfers (expires_at) WHERE state = 'active';

-- The hash-chained event log; body is the event's JSON (postings and data).
CREATE TABLE teg_events (
    seq         INTEGER PRIMARY KEY,
    time        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    transfer_id TEXT NOT NULL,
    body        TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
) STRICT;

-- One row: the end of the event log. Every writer locks it first, which orders all writers.
CREATE TABLE teg_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
) STRICT;
INSERT INTO teg_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- +goose Down
DROP TABLE teg_head;
DROP TABLE teg_events;
DROP TABLE teg_transfers;
DROP TABLE teg_accounts;
