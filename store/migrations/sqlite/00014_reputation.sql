-- +goose Up
-- Reputation: the ratings payers give payees of completed ledger transfers (one per transfer:
-- the interaction id is the rated transfer's id), and the score each full pass computed for
-- every agent, with the factors it is the sum of (JSON) so a reader sees why.
CREATE TABLE reputation_ratings (
    interaction_id TEXT PRIMARY KEY,
    rater          TEXT NOT NULL,
    ratee          TEXT NOT NULL,
    stars          INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment        TEXT NOT NULL DEFAULT '' CHECK (length(CAST(comment AS BLOB)) <= 280),
    created_at     TEXT NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX reputation_ratings_ratee ON reputation_ratings (ratee, created_at, interaction_id);

CREATE TABLE reputation_scores (
    agent       TEXT PRIMARY KEY,
    score       INTEGER NOT NULL CHECK (score BETWEEN 0 AND 1000),
    tier        TEXT NOT NULL,
    factors     TEXT NOT NULL,
    computed_at TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE reputation_scores;
DROP TABLE reputation_ratings;
