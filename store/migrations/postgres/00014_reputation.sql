-- +goose Up
-- Reputation: the ratings payers give payees of completed ledger transfers (one per transfer:
-- the interaction id is the rated transfer's id), and the score each full pass computed for
-- every agent, with the factors it is the sum of (JSON) so a reader sees why.
CREATE TABLE reputation_ratings (
    interaction_id TEXT COLLATE "C" PRIMARY KEY,
    rater          TEXT NOT NULL,
    ratee          TEXT COLLATE "C" NOT NULL,
    stars          SMALLINT NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment        TEXT NOT NULL DEFAULT '' CHECK (octet_length(comment) <= 280),
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX reputation_ratings_ratee ON reputation_ratings (ratee, created_at, interaction_id);

CREATE TABLE reputation_scores (
    agent       TEXT PRIMARY KEY,
    score       INTEGER NOT NULL CHECK (score BETWEEN 0 AND 1000),
    tier        TEXT NOT NULL,
    factors     TEXT NOT NULL,
    computed_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE reputation_scores;
DROP TABLE reputation_ratings;
