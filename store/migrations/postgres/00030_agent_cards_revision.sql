-- +goose Up
-- A card row's revision: moved by every change of the row, whoever makes it (a publish, an
-- update, a status change, a heartbeat that writes only last_heartbeat_at, a federation copy,
-- SQL by hand), so that a cache of card documents keeps the newest of two reads of a card
-- (hotcache: compare-and-set on the revision). A new row starts at 0; the trigger moves it on
-- each UPDATE, under the row's lock, so two updates never share a revision.
ALTER TABLE agent_cards ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
-- +goose StatementBegin
CREATE FUNCTION bump_agent_card_revision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.revision := OLD.revision + 1;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER agent_cards_revision BEFORE UPDATE ON agent_cards
    FOR EACH ROW EXECUTE FUNCTION bump_agent_card_revision();
-- The revisions of a page of cards read from this index alone (a cache of card documents checks
-- its entries against them).
CREATE INDEX agent_cards_id_revision ON agent_cards (id) INCLUDE (revision);

-- +goose Down
DROP INDEX agent_cards_id_revision;
DROP TRIGGER agent_cards_revision ON agent_cards;
DROP FUNCTION bump_agent_card_revision();
ALTER TABLE agent_cards DROP COLUMN revision;
