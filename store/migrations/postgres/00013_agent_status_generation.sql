-- +goose Up
-- A counter every change of an agent's status moves (a registration, a completion, a
-- suspension, a reactivation, a revocation, a release), whoever makes it — any replica, or SQL
-- by hand — so a replica that keeps agents' statuses in memory learns with one small read that
-- they may have changed, and forgets them.
CREATE TABLE agent_status_generation (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO agent_status_generation (id, generation) VALUES (1, 0);
-- +goose StatementBegin
CREATE FUNCTION bump_agent_status_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE agent_status_generation SET generation = generation + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER agents_status_generation AFTER INSERT OR DELETE OR UPDATE OF status ON agents
    FOR EACH STATEMENT EXECUTE FUNCTION bump_agent_status_generation();

-- +goose Down
DROP TRIGGER agents_status_generation ON agents;
DROP FUNCTION bump_agent_status_generation();
DROP TABLE agent_status_generation;
