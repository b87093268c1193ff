-- +goose Up
-- A card row's revision: moved by every change of the row, whoever makes it (a publish, an
-- update, a status change, a heartbeat that writes only last_heartbeat_at, a federation copy,
-- SQL by hand), so that a cache of card documents keeps the newest of two reads of a card
-- (hotcache: compare-and-set on the revision). A new row starts at 0; the trigger moves it
-- after each UPDATE that does not set it itself.
ALTER TABLE agent_cards ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
-- +goose StatementBegin
CREATE TRIGGER agent_cards_revision AFTER UPDATE ON agent_cards
WHEN NEW.revision = OLD.revision
BEGIN
    UPDATE agent_cards SET revision = OLD.revision + 1 WHERE rid = NEW.rid;
END;
-- +goose StatementEnd
-- The revisions of a page of cards read from this index alone (a cache of card documents checks
-- its entries against them: one B-tree probe a card, no row read).
CREATE INDEX agent_cards_id_revision ON agent_cards (id, revision);

-- +goose Down
DROP INDEX agent_cards_id_revision;
DROP TRIGGER agent_cards_revision;
ALTER TABLE agent_cards DROP COLUMN revision;
