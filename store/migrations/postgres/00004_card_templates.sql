-- +goose Up
-- Agent-card templates (stored ones; the built-ins ship with the binary). parameters and card
-- are JSON text, kept as written. Names sort bytewise (COLLATE "C"), as on SQLite and in Go, so
-- cursor paging agrees with the built-ins merged in. Times are timestamptz.
CREATE TABLE card_templates (
    name        TEXT COLLATE "C" PRIMARY KEY,
    description TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('echo', 'llm', 'tool')),
    parameters  TEXT NOT NULL,
    card        TEXT NOT NULL,
    owner_id    TEXT NOT NULL REFERENCES developers (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL CHECK (version >= 1),
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX card_templates_owner ON card_templates (owner_id);

-- +goose Down
DROP TABLE card_templates;
