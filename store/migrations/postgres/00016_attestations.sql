-- +goose Up
-- Attestations: signed statements of an agent's verified contributions, each stored once it
-- verified, with the reward the treasury pays its subject (under an idempotency key derived
-- from subject, type and evidence hash, so the ledger pays it at most once) and whether the
-- ledger confirmed the payment. One per (subject, type, evidence hash), one task_completed per
-- transfer. attestation_quota has one row per subject that an insert updates first (taking its
-- row lock), so that concurrent inserts for one subject check the cooldown and daily limit one
-- after another.
CREATE TABLE attestations (
    id              TEXT COLLATE "C" PRIMARY KEY,
    type            TEXT NOT NULL,
    subject         TEXT COLLATE "C" NOT NULL,
    attester        TEXT COLLATE "C" NOT NULL,
    evidence_hash   TEXT NOT NULL CHECK (length(evidence_hash) = 71),
    evidence_uri    TEXT NOT NULL CHECK (octet_length(evidence_uri) <= 512),
    issued_at       TIMESTAMPTZ NOT NULL,
    transfer_id     TEXT NOT NULL DEFAULT '',
    signature       TEXT NOT NULL,
    cosignature     TEXT NOT NULL DEFAULT '',
    reward          TEXT NOT NULL,
    reward_key      TEXT NOT NULL,
    reward_paid     INTEGER NOT NULL DEFAULT 0,
    reward_transfer TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX attestations_evidence ON attestations (subject, type, evidence_hash);
CREATE UNIQUE INDEX attestations_transfer ON attestations (type, transfer_id) WHERE transfer_id <> '';
CREATE INDEX attestations_subject ON attestations (subject, created_at, id);
CREATE INDEX attestations_attester ON attestations (attester, created_at, id);
CREATE INDEX attestations_created ON attestations (created_at, id);
CREATE INDEX attestations_unpaid ON attestations (created_at) WHERE reward_paid = 0;

CREATE TABLE attestation_quota (
    subject TEXT PRIMARY KEY,
    inserts BIGINT NOT NULL
);

-- +goose Down
DROP TABLE attestation_quota;
DROP TABLE attestations;
