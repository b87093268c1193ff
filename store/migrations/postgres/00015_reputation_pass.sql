-- +goose Up
-- The lease of the scheduled reputation pass: one row saying when the last pass started and
-- finished (microseconds since the epoch) and which replica holds it, so that replicas sharing a
-- database run one pass per interval between them (a replica claims the row only when the last
-- pass finished an interval ago and none is running, or the running one's claim expired).
CREATE TABLE reputation_pass (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    started_us  BIGINT NOT NULL,
    finished_us BIGINT NOT NULL,
    holder      TEXT NOT NULL
);
INSERT INTO reputation_pass (id, started_us, finished_us, holder) VALUES (1, 0, 0, '');

-- +goose Down
DROP TABLE reputation_pass;
