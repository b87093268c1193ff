// Package a2asql is the a2a.TaskStore in SQL, one code path for SQLite and PostgreSQL (package
// store): tables a2a_tasks (each task as ProtoJSON beside the columns ListTasks filters and
// orders by) and a2a_push_configs. Tasks kept here survive a restart of the agent.
package a2asql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/store"
)

// TaskStore implements a2a.TaskStore over a migrated store.DB.
type TaskStore struct {
	db *store.DB
}

var _ a2a.TaskStore = (*TaskStore)(nil)

// New returns the task store over db (migrated: store.DB.Migrate).
func New(db *store.DB) *TaskStore { return &TaskStore{db: db} }

const taskCols = `task, owner, version, updated_at, status_at`

func scanTask(sc interface{ Scan(...any) error }) (*a2a.StoredTask, error) {
	var st a2a.StoredTask
	var blob string
	if err := sc.Scan(&blob, &st.Owner, &st.Version, store.ScanTime(&st.UpdatedAt), store.ScanTime(&st.StatusAt)); err != nil {
		return nil, err
	}
	st.Task = &a2apb.Task{}
	if err := protojson.Unmarshal([]byte(blob), st.Task); err != nil {
		return nil, fmt.Errorf("a2asql: stored task: %w", err)
	}
	return &st, nil
}

// GetTask implements a2a.TaskStore.
func (s *TaskStore) GetTask(ctx context.Context, id string) (*a2a.StoredTask, error) {
	st, err := scanTask(s.db.Read().QueryRowContext(ctx, `SELECT `+taskCols+` FROM a2a_tasks WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, a2a.ErrTaskNotFound
	}
	return st, err
}

// SaveTask implements a2a.TaskStore.
func (s *TaskStore) SaveTask(ctx context.Context, st *a2a.StoredTask) error {
	if st.Version < 1 {
		return errors.New("a2asql: SaveTask: version must be ≥ 1")
	}
	blob, err := protojson.Marshal(st.Task)
	if err != nil {
		return fmt.Errorf("a2asql: encode task: %w", err)
	}
	t := st.Task
	state := t.GetStatus().GetState().String()
	if st.Version == 1 {
		_, err := s.db.Write().ExecContext(ctx, `INSERT INTO a2a_tasks (id, context_id, owner, state, version, updated_at, status_at, task)
			VALUES ($1, $2, $3, $4, 1, $5, $6, $7)`,
			t.GetId(), t.GetContextId(), st.Owner, state, store.Time(st.UpdatedAt), store.Time(st.StatusAt), string(blob))
		if store.IsUniqueViolation(err) {
			return a2a.ErrVersionConflict
		}
		return err
	}
	res, err := s.db.Write().ExecContext(ctx, `UPDATE a2a_tasks SET state = $2, version = $3, updated_at = $4, status_at = $5, task = $6
		WHERE id = $1 AND version = $7`,
		t.GetId(), state, st.Version, store.Time(st.UpdatedAt), store.Time(st.StatusAt), string(blob), st.Version-1)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	if _, err := s.GetTask(ctx, t.GetId()); err != nil {
		return err
	}
	return a2a.ErrVersionConflict
}

// ListTasks implements a2a.TaskStore: newest first (updated_at, then id, descending), with
// keyset paging.
func (s *TaskStore) ListTasks(ctx context.Context, f a2a.TaskFilter) (*a2a.TaskPage, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	where = append(where, "owner = "+arg(f.Owner))
	if f.ContextID != "" {
		where = append(where, "context_id = "+arg(f.ContextID))
	}
	if f.State != a2apb.TaskState_TASK_STATE_UNSPECIFIED {
		where = append(where, "state = "+arg(f.State.String()))
	}
	if !f.StatusAfter.IsZero() {
		where = append(where, "status_at >= "+arg(store.Time(f.StatusAfter)))
	}
	page := &a2a.TaskPage{}
	if err := s.db.Read().QueryRowContext(ctx, `SELECT count(*) FROM a2a_tasks WHERE `+strings.Join(where, " AND "), args...).Scan(&page.TotalSize); err != nil {
		return nil, err
	}
	if f.PageToken != "" {
		at, id, err := a2a.DecodePageToken(f.PageToken)
		if err != nil {
			return nil, err
		}
		a, i := arg(store.Time(at)), arg(id)
		where = append(where, "(updated_at < "+a+" OR updated_at = "+a+" AND id < "+i+")")
	}
	size := max(f.PageSize, 1)
	q := `SELECT ` + taskCols + ` FROM a2a_tasks WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY updated_at DESC, id DESC LIMIT ` + arg(size+1)
	rows, err := s.db.Read().QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		st, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		page.Tasks = append(page.Tasks, st)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(page.Tasks) > size {
		page.Tasks = page.Tasks[:size]
		last := page.Tasks[size-1]
		page.NextPageToken = a2a.EncodePageToken(last.UpdatedAt, last.Task.GetId())
	}
	return page, nil
}

// PutPushConfig implements a2a.TaskStore. The task must exist (ErrTaskNotFound otherwise).
func (s *TaskStore) PutPushConfig(ctx context.Context, cfg *a2apb.TaskPushNotificationConfig) error {
	blob, err := protojson.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("a2asql: encode push config: %w", err)
	}
	res, err := s.db.Write().ExecContext(ctx, `INSERT INTO a2a_push_configs (task_id, id, config)
		SELECT CAST($1 AS TEXT), CAST($2 AS TEXT), CAST($3 AS TEXT) WHERE EXISTS (SELECT 1 FROM a2a_tasks WHERE id = $1)
		ON CONFLICT (task_id, id) DO UPDATE SET config = excluded.config`,
		cfg.GetTaskId(), cfg.GetId(), string(blob))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return a2a.ErrTaskNotFound
	}
	return nil
}

func scanConfig(sc interface{ Scan(...any) error }) (*a2apb.TaskPushNotificationConfig, error) {
	var blob string
	if err := sc.Scan(&blob); err != nil {
		return nil, err
	}
	var cfg a2apb.TaskPushNotificationConfig
	if err := protojson.Unmarshal([]byte(blob), &cfg); err != nil {
		return nil, fmt.Errorf("a2asql: stored push config: %w", err)
	}
	return &cfg, nil
}

// GetPushConfig implements a2a.TaskStore.
func (s *TaskStore) GetPushConfig(ctx context.Context, taskID, id string) (*a2apb.TaskPushNotificationConfig, error) {
	cfg, err := scanConfig(s.db.Read().QueryRowContext(ctx, `SELECT config FROM a2a_push_configs WHERE task_id = $1 AND id = $2`, taskID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, a2a.ErrPushConfigNotFound
	}
	return cfg, err
}

// ListPushConfigs implements a2a.TaskStore.
func (s *TaskStore) ListPushConfigs(ctx context.Context, taskID string) ([]*a2apb.TaskPushNotificationConfig, error) {
	rows, err := s.db.Read().QueryContext(ctx, `SELECT config FROM a2a_push_configs WHERE task_id = $1 ORDER BY id`, taskID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*a2apb.TaskPushNotificationConfig{}
	for rows.Next() {
		cfg, err := scanConfig(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, cfg)
	}
	return out, rows.Err()
}

// DeletePushConfig implements a2a.TaskStore.
func (s *TaskStore) DeletePushConfig(ctx context.Context, taskID, id string) error {
	res, err := s.db.Write().ExecContext(ctx, `DELETE FROM a2a_push_configs WHERE task_id = $1 AND id = $2`, taskID, id)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return a2a.ErrPushConfigNotFound
	}
	return nil
}
