-- +goose Up
-- A2A tasks of the agents this process serves (a2a/a2asql). The task itself is its ProtoJSON
-- (a2apb.Task); the columns beside it are what ListTasks filters and orders by. version is
-- the optimistic lock: 1 on create, one more at each save. Ids sort bytewise (COLLATE "C"),
-- as on SQLite and in Go, so paging agrees across stores. updated_at is the last save,
-- status_at the last status change.
CREATE TABLE a2a_tasks (
    id         TEXT COLLATE "C" PRIMARY KEY,
    context_id TEXT COLLATE "C" NOT NULL,
    owner      TEXT COLLATE "C" NOT NULL,
    state      TEXT NOT NULL,
    version    BIGINT NOT NULL CHECK (version >= 1),
    updated_at TIMESTAMPTZ NOT NULL,
    status_at  TIMESTAMPTZ NOT NULL,
    task       TEXT NOT NULL
);
CREATE INDEX a2a_tasks_owner_updated ON a2a_tasks (owner, updated_at DESC, id DESC);
CREATE INDEX a2a_tasks_owner_context ON a2a_tasks (owner, context_id, updated_at DESC, id DESC);

-- Push-notification configs of a task (a2apb.TaskPushNotificationConfig as ProtoJSON).
CREATE TABLE a2a_push_configs (
    task_id TEXT COLLATE "C" NOT NULL REFERENCES a2a_tasks (id) ON DELETE CASCADE,
    id      TEXT COLLATE "C" NOT NULL,
    config  TEXT NOT NULL,
    PRIMARY KEY (task_id, id)
);

-- +goose Down
DROP TABLE a2a_push_configs;
DROP TABLE a2a_tasks;
