-- +goose Up
-- The auditor: the flags it raised (one per pattern: dedupe_key is unique; evidence and agents
-- are JSON arrays), its consumer's single row (the lease a replica holds while it audits, the
-- cursor — the last ledger event audited — and the rule engine's checkpointed state), and the
-- admin's parameters (JSON; no row: the defaults).
CREATE TABLE auditor_flags (
    id          TEXT COLLATE "C" PRIMARY KEY,
    rule        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    agents      TEXT NOT NULL,
    evidence    TEXT NOT NULL,
    detail      TEXT NOT NULL,
    dedupe_key  TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL CHECK (status IN ('NEW', 'ACKNOWLEDGED', 'RESOLVED', 'ESCALATED')),
    resolution  TEXT NOT NULL DEFAULT '',
    escalation  TEXT NOT NULL DEFAULT '',
    dispute_id  TEXT NOT NULL DEFAULT '',
    note        TEXT NOT NULL DEFAULT '',
    reviewed_by TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX auditor_flags_status ON auditor_flags (status, id);
CREATE INDEX auditor_flags_subject ON auditor_flags (subject, id);

CREATE TABLE auditor_consumer (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    holder       TEXT NOT NULL,
    expires_us   BIGINT NOT NULL,
    cursor_seq   BIGINT NOT NULL,
    cursor_us    BIGINT NOT NULL,
    snapshot     BYTEA,
    snapshot_seq BIGINT NOT NULL
);
INSERT INTO auditor_consumer (id, holder, expires_us, cursor_seq, cursor_us, snapshot, snapshot_seq) VALUES (1, '', 0, 0, 0, NULL, 0);

CREATE TABLE auditor_params (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    params     TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE auditor_params;
DROP TABLE auditor_consumer;
DROP TABLE auditor_flags;
