-- +goose Up
-- The AVT ledger (DESIGN.md §8.1). Amounts are exact integers of base units, NUMERIC(78,0).
CREATE TABLE teg_accounts (
    id         TEXT PRIMARY KEY,
    liquid     NUMERIC(78,0) NOT NULL,
    locked     NUMERIC(78,0) NOT NULL,
    staked     NUMERIC(78,0) NOT NULL,
    unbonding  NUMERIC(78,0) NOT NULL,
    version    BIGINT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE teg_transfers (
    id           TEXT PRIMARY KEY,
    seq          BIGINT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    from_account TEXT NOT NULL,
    to_account   TEXT NOT NULL,
    amount       NUMERIC(78,0) NOT NULL,
    fee          NUMERIC(78,0) NOT NULL,
    message      TEXT NOT NULL,
    pending_id   TEXT NOT NULL,
    held         NUMERIC(78,0) NOT NULL,
    state        TEXT NOT NULL,
    expires_at   TIMESTAMPTZ,
    fingerprint  TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX teg_transfers_from ON teg_transfers (from_account, seq);
CREATE INDEX teg_transfers_to ON teg_transfers (to_account, seq);
CREATE INDEX teg_transfers_due ON teg_transfers (expires_at) WHERE state = 'active';

-- The hash-chained event log; body is the event's JSON (postings and data).
CREATE TABLE teg_events (
    seq         BIGINT PRIMARY KEY,
    time        TIMESTAMPTZ NOT NULL,
    kind        TEXT NOT NULL,
    transfer_id TEXT NOT NULL,
    body        JSONB NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

-- One row: the end of the event log. Every writer locks it first, which orders all writers.
CREATE TABLE teg_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO teg_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- +goose Down
DROP TABLE teg_head;
DROP TABLE teg_events;
DROP TABLE teg_transfers;
DROP TABLE teg_accounts;
