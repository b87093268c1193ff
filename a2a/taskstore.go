package a2a

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// StoredTask is a task as a TaskStore keeps it: the task, who created it, and its version.
type StoredTask struct {
	Task *a2apb.Task
	// Owner is the caller that created the task (CallerFrom); only the owner sees it. Empty for
	// an anonymous caller, whose tasks every anonymous caller sees.
	Owner string
	// Version is 1 when the task is created and one more at each save (optimistic locking).
	Version int64
	// UpdatedAt is the time of the last save, StatusAt the time of the last status change
	// (the status timestamp); both in microseconds (the precision of the SQL stores).
	UpdatedAt, StatusAt time.Time
}

// TaskFilter selects and pages the tasks ListTasks returns. Tasks come newest first: by
// UpdatedAt descending, then by id descending.
type TaskFilter struct {
	Owner       string          // only tasks of this owner (always applied)
	ContextID   string          // only tasks of this context, when set
	State       a2apb.TaskState // only tasks in this state, when not UNSPECIFIED
	StatusAfter time.Time       // only tasks whose StatusAt is at or after this, when not zero
	PageSize    int             // at most this many tasks (≥ 1)
	PageToken   string          // continue after the page that returned this token
}

// TaskPage is one page of ListTasks.
type TaskPage struct {
	Tasks []*StoredTask
	// NextPageToken continues the listing; empty on the last page.
	NextPageToken string
	// TotalSize counts every task the filter matches, on all pages.
	TotalSize int
}

// TaskStore keeps tasks and their push-notification configs. The server is its only writer for
// a task while it runs one, but replicas on one database may race: SaveTask is a
// compare-and-swap on the version. Implementations: NewMemoryTaskStore, and a2asql for SQLite
// and PostgreSQL (tasks survive restarts). The same conformance tests run against both.
type TaskStore interface {
	// GetTask returns the task with id, or ErrTaskNotFound.
	GetTask(ctx context.Context, id string) (*StoredTask, error)
	// SaveTask stores st: it creates the task when st.Version is 1 (ErrVersionConflict if the id
	// is taken) and otherwise replaces the stored task of version st.Version-1
	// (ErrVersionConflict if the stored version differs, ErrTaskNotFound if there is none).
	SaveTask(ctx context.Context, st *StoredTask) error
	// ListTasks returns one page of the tasks f selects; a malformed page token is an *Error
	// with CodeInvalidParams.
	ListTasks(ctx context.Context, f TaskFilter) (*TaskPage, error)
	// PutPushConfig creates or replaces the config (cfg.TaskId, cfg.Id); ErrTaskNotFound when
	// there is no such task.
	PutPushConfig(ctx context.Context, cfg *a2apb.TaskPushNotificationConfig) error
	// GetPushConfig returns the config (taskID, id), or ErrPushConfigNotFound.
	GetPushConfig(ctx context.Context, taskID, id string) (*a2apb.TaskPushNotificationConfig, error)
	// ListPushConfigs returns the configs of a task, by id.
	ListPushConfigs(ctx context.Context, taskID string) ([]*a2apb.TaskPushNotificationConfig, error)
	// DeletePushConfig removes the config (taskID, id), or returns ErrPushConfigNotFound.
	DeletePushConfig(ctx context.Context, taskID, id string) error
}

// ErrVersionConflict is returned by TaskStore.SaveTask when the stored task is not the version
// the caller read: someone else changed it.
var ErrVersionConflict = errors.New("a2a: task was changed concurrently")

// ErrPushConfigNotFound is returned for a push-notification config that does not exist. It
// carries CodeTaskNotFound, the protocol's code for a missing resource of a task.
var ErrPushConfigNotFound = &Error{Code: CodeTaskNotFound, Message: "push notification config not found"}

// EncodePageToken is the page token of ListTasks after the task (updatedAt, id); stores use it
// so that tokens look alike whatever the store.
func EncodePageToken(updatedAt time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(updatedAt.UnixMicro(), 10) + ":" + id))
}

// DecodePageToken reverses EncodePageToken; a malformed token is an *Error with
// CodeInvalidParams.
func DecodePageToken(tok string) (time.Time, string, error) {
	bad := Errorf(CodeInvalidParams, "invalid page_token")
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return time.Time{}, "", bad
	}
	us, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(us, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", bad
	}
	return time.UnixMicro(n).UTC(), id, nil
}

// MemoryTaskStore is a TaskStore in memory: for tests and for agents that need no persistence.
// It is safe for concurrent use.
type MemoryTaskStore struct {
	mu    sync.Mutex
	tasks map[string]*StoredTask
	push  map[string]map[string]*a2apb.TaskPushNotificationConfig // task id → config id → config
}

// NewMemoryTaskStore returns an empty in-memory task store.
func NewMemoryTaskStore() *MemoryTaskStore {
	return &MemoryTaskStore{tasks: map[string]*StoredTask{}, push: map[string]map[string]*a2apb.TaskPushNotificationConfig{}}
}

var _ TaskStore = (*MemoryTaskStore)(nil)

func cloneStored(st *StoredTask) *StoredTask {
	c := *st
	c.Task = proto.CloneOf(st.Task)
	return &c
}

// GetTask implements TaskStore.
func (s *MemoryTaskStore) GetTask(_ context.Context, id string) (*StoredTask, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.tasks[id]
	if !ok {
		return nil, ErrTaskNotFound
	}
	return cloneStored(st), nil
}

// SaveTask implements TaskStore.
func (s *MemoryTaskStore) SaveTask(_ context.Context, st *StoredTask) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := st.Task.GetId()
	cur, ok := s.tasks[id]
	switch {
	case st.Version == 1 && ok:
		return ErrVersionConflict
	case st.Version > 1 && !ok:
		return ErrTaskNotFound
	case st.Version > 1 && cur.Version != st.Version-1:
		return ErrVersionConflict
	case st.Version < 1:
		return errors.New("a2a: SaveTask: version must be ≥ 1")
	}
	c := cloneStored(st)
	c.UpdatedAt = c.UpdatedAt.UTC().Truncate(time.Microsecond)
	c.StatusAt = c.StatusAt.UTC().Truncate(time.Microsecond)
	s.tasks[id] = c
	return nil
}

// ListTasks implements TaskStore.
func (s *MemoryTaskStore) ListTasks(_ context.Context, f TaskFilter) (*TaskPage, error) {
	f.PageSize = max(f.PageSize, 1)
	f.StatusAfter = f.StatusAfter.Truncate(time.Microsecond)
	var afterAt time.Time
	var afterID string
	if f.PageToken != "" {
		var err error
		if afterAt, afterID, err = DecodePageToken(f.PageToken); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	var match []*StoredTask
	for _, st := range s.tasks {
		if st.Owner != f.Owner ||
			f.ContextID != "" && st.Task.GetContextId() != f.ContextID ||
			f.State != stateUnspecified && st.Task.GetStatus().GetState() != f.State ||
			!f.StatusAfter.IsZero() && st.StatusAt.Before(f.StatusAfter) {
			continue
		}
		match = append(match, st)
	}
	slices.SortFunc(match, func(a, b *StoredTask) int {
		return cmp.Or(b.UpdatedAt.Compare(a.UpdatedAt), strings.Compare(b.Task.GetId(), a.Task.GetId()))
	})
	page := &TaskPage{TotalSize: len(match)}
	for _, st := range match {
		if f.PageToken != "" && (st.UpdatedAt.After(afterAt) || st.UpdatedAt.Equal(afterAt) && st.Task.GetId() >= afterID) {
			continue
		}
		if len(page.Tasks) == f.PageSize {
			last := page.Tasks[len(page.Tasks)-1]
			page.NextPageToken = EncodePageToken(last.UpdatedAt, last.Task.GetId())
			break
		}
		page.Tasks = append(page.Tasks, cloneStored(st))
	}
	s.mu.Unlock()
	return page, nil
}

// PutPushConfig implements TaskStore.
func (s *MemoryTaskStore) PutPushConfig(_ context.Context, cfg *a2apb.TaskPushNotificationConfig) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tasks[cfg.GetTaskId()]; !ok {
		return ErrTaskNotFound
	}
	m := s.push[cfg.GetTaskId()]
	if m == nil {
		m = map[string]*a2apb.TaskPushNotificationConfig{}
		s.push[cfg.GetTaskId()] = m
	}
	m[cfg.GetId()] = proto.CloneOf(cfg)
	return nil
}

// GetPushConfig implements TaskStore.
func (s *MemoryTaskStore) GetPushConfig(_ context.Context, taskID, id string) (*a2apb.TaskPushNotificationConfig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg, ok := s.push[taskID][id]
	if !ok {
		return nil, ErrPushConfigNotFound
	}
	return proto.CloneOf(cfg), nil
}

// ListPushConfigs implements TaskStore.
func (s *MemoryTaskStore) ListPushConfigs(_ context.Context, taskID string) ([]*a2apb.TaskPushNotificationConfig, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*a2apb.TaskPushNotificationConfig, 0, len(s.push[taskID]))
	for _, cfg := range s.push[taskID] {
		out = append(out, proto.CloneOf(cfg))
	}
	slices.SortFunc(out, func(a, b *a2apb.TaskPushNotificationConfig) int { return strings.Compare(a.GetId(), b.GetId()) })
	return out, nil
}

// DeletePushConfig implements TaskStore.
func (s *MemoryTaskStore) DeletePushConfig(_ context.Context, taskID, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.push[taskID][id]; !ok {
		return ErrPushConfigNotFound
	}
	delete(s.push[taskID], id)
	return nil
}
