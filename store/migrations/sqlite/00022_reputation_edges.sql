-- +goose Up
-- The rating graph in the compact form a full reputation pass reads: every rated agent numbered
-- once (reputation_agents), and per (rater, ratee) pair the sum of the ratings' satisfactions
-- (stars − 3) and the count of good (≥ 3 stars) and bad outcomes (reputation_edges). The
-- store keeps both in the transaction that inserts a rating, so a pass reads a few numbers per
-- pair instead of every rating's text.
CREATE TABLE reputation_agents (
    n     INTEGER PRIMARY KEY,
    agent TEXT NOT NULL UNIQUE
) STRICT;

CREATE TABLE reputation_edges (
    rater_n      INTEGER NOT NULL,
    ratee_n      INTEGER NOT NULL,
    satisfaction INTEGER NOT NULL,
    ok           INTEGER NOT NULL,
    fail         INTEGER NOT NULL,
    PRIMARY KEY (rater_n, ratee_n)
) STRICT, WITHOUT ROWID;

INSERT INTO reputation_agents (agent)
    SELECT agent FROM (SELECT rater AS agent FROM reputation_ratings UNION SELECT ratee FROM reputation_ratings) ORDER BY agent;
INSERT INTO reputation_edges (rater_n, ratee_n, satisfaction, ok, fail)
    SELECT a.n, b.n, SUM(r.stars - 3), SUM(CASE WHEN r.stars >= 3 THEN 1 ELSE 0 END), SUM(CASE WHEN r.stars < 3 THEN 1 ELSE 0 END)
    FROM reputation_ratings r JOIN reputation_agents a ON a.agent = r.rater JOIN reputation_agents b ON b.agent = r.ratee
    GROUP BY a.n, b.n;

-- What each stored score was computed from, so that an event (a rating, a lost dispute, a
-- confirmed flag, an attestation) recomputes one agent's score without a full pass.
ALTER TABLE reputation_scores ADD COLUMN inputs TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE reputation_scores DROP COLUMN inputs;
DROP TABLE reputation_edges;
DROP TABLE reputation_agents;
