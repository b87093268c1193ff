-- +goose Up
-- Who suspended an agent (issue 12): the authority that placed the suspension, "owner" (its
-- developer) or "admin", and so the lowest authority that may lift it; '' when not suspended.
-- Agents suspended before this column existed count as suspended by an admin (the stricter
-- reading: their owner cannot lift what an admin may have placed).
ALTER TABLE agents ADD COLUMN suspended_by TEXT NOT NULL DEFAULT '' CHECK (suspended_by IN ('', 'owner', 'admin'));
UPDATE agents SET suspended_by = 'admin' WHERE status = 'suspended';

-- +goose Down
ALTER TABLE agents DROP COLUMN suspended_by;
