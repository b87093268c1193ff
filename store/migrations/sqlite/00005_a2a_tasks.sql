-- +goose Up
-- A2A tasks of the agents this process serves (a2a/a2asql). The task itself is its ProtoJSON
-- (a2apb.Task); the columns beside it are what ListTasks filters and orders by. version is
-- the optimistic lock: 1 on create, one more at each save. Times are fixed-width UTC text
-- (store.Time): updated_at is the last save, status_at the last status change.
CREATE TABLE a2a_tasks (
    id         TEXT PRIMARY KEY,
    context_id TEXT NOT NULL,
    owner      TEXT NOT NULL,
    state      TEXT NOT NULL,
    version    INTEGER NOT NULL CHECK (version >= 1),
    updated_at TEXT NOT NULL,
    status_at  TEXT NOT NULL,
    task       TEXT NOT NULL
) STRICT;
CREATE INDEX a2a_tasks_owner_updated ON a2a_tasks (owner, updated_at DESC, id DESC);
CREATE INDEX a2a_tasks_owner_context ON a2a_tasks (owner, context_id, updated_at DESC, id DESC);

-- Push-notification configs of a task (a2apb.TaskPushNotificationConfig as ProtoJSON).
CREATE TABLE a2a_push_configs (
    task_id TEXT NOT NULL REFERENCES a2a_tasks (id) ON DELETE CASCADE,
    id      TEXT NOT NULL,
    config  TEXT NOT NULL,
    PRIMARY KEY (task_id, id)
) STRICT;

-- +goose Down
DROP TABLE a2a_push_configs;
DROP TABLE a2a_tasks;
