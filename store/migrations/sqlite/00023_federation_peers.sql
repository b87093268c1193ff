-- +goose Up
-- Federation peers: other registries this one federates with, proposed by a developer and
-- decided by an admin (PENDING_APPROVAL → ACTIVE | REJECTED, ACTIVE ⇄ INACTIVE). One peer per
-- trust domain that is not REJECTED (a rejected one may be proposed again).
CREATE TABLE federation_peers (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    base_url        TEXT NOT NULL,
    trust_domain    TEXT NOT NULL,
    bundle_endpoint TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('PENDING_APPROVAL', 'ACTIVE', 'INACTIVE', 'REJECTED')),
    proposed_by     TEXT NOT NULL,
    decided_by      TEXT NOT NULL DEFAULT '',
    reason          TEXT NOT NULL DEFAULT '',
    version         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX federation_peers_trust_domain ON federation_peers (trust_domain) WHERE state <> 'REJECTED';

-- +goose Down
DROP TABLE federation_peers;
