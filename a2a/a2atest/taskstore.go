// Package a2atest holds the conformance tests every a2a.TaskStore must pass; the memory store
// and the SQL stores run the same ones.
package a2atest

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// TaskStore runs the conformance tests against stores made by newStore (a fresh, empty store
// per call).
func TaskStore(t *testing.T, newStore func(t *testing.T) a2a.TaskStore) {
	t.Run("GetUnknown", func(t *testing.T) { testGetUnknown(t, newStore(t)) })
	t.Run("SaveIsCompareAndSwap", func(t *testing.T) { testSave(t, newStore(t)) })
	t.Run("ListFiltersAndPages", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("PushConfigs", func(t *testing.T) { testPush(t, newStore(t)) })
}

var base = time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.UTC)

func task(id, contextID string, state a2apb.TaskState, at time.Time) *a2apb.Task {
	return &a2apb.Task{Id: id, ContextId: contextID,
		Status: &a2apb.TaskStatus{State: state, Timestamp: timestamppb.New(at)},
		History: []*a2apb.Message{{MessageId: "m-" + id, Role: a2apb.Role_ROLE_USER, TaskId: id, ContextId: contextID,
			Parts: []*a2apb.Part{{Content: &a2apb.Part_Text{Text: "hello " + id}}}}},
		Artifacts: []*a2apb.Artifact{{ArtifactId: "a1", Parts: []*a2apb.Part{{Content: &a2apb.Part_Raw{Raw: []byte{0, 1, 2}}}}}},
	}
}

func equalStored(t *testing.T, got, want *a2a.StoredTask) {
	t.Helper()
	if !proto.Equal(got.Task, want.Task) || got.Owner != want.Owner || got.Version != want.Version ||
		!got.UpdatedAt.Equal(want.UpdatedAt) || !got.StatusAt.Equal(want.StatusAt) {
		t.Fatalf("stored task:\n got %v %q v%d %v %v\nwant %v %q v%d %v %v", got.Task, got.Owner, got.Version, got.UpdatedAt, got.StatusAt,
			want.Task, want.Owner, want.Version, want.UpdatedAt, want.StatusAt)
	}
}

func testGetUnknown(t *testing.T, s a2a.TaskStore) {
	if _, err := s.GetTask(context.Background(), "nope"); !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Fatalf("GetTask(unknown) = %v, want ErrTaskNotFound", err)
	}
}

func testSave(t *testing.T, s a2a.TaskStore) {
	ctx := context.Background()
	st := &a2a.StoredTask{Task: task("t1", "c1", a2apb.TaskState_TASK_STATE_SUBMITTED, base), Owner: "alice", Version: 1, UpdatedAt: base, StatusAt: base}
	if err := s.SaveTask(ctx, st); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTask(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	equalStored(t, got, st)
	if err := s.SaveTask(ctx, st); !errors.Is(err, a2a.ErrVersionConflict) {
		t.Fatalf("create twice = %v, want ErrVersionConflict", err)
	}
	v2 := &a2a.StoredTask{Task: task("t1", "c1", a2apb.TaskState_TASK_STATE_WORKING, base.Add(time.Second)), Owner: "alice", Version: 2,
		UpdatedAt: base.Add(time.Second), StatusAt: base.Add(time.Second)}
	if err := s.SaveTask(ctx, v2); err != nil {
		t.Fatal(err)
	}
	if got, err = s.GetTask(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	equalStored(t, got, v2)
	for _, v := range []int64{2, 4} {
		stale := &a2a.StoredTask{Task: v2.Task, Owner: "alice", Version: v, UpdatedAt: base, StatusAt: base}
		if err := s.SaveTask(ctx, stale); !errors.Is(err, a2a.ErrVersionConflict) {
			t.Fatalf("save v%d over v2 = %v, want ErrVersionConflict", v, err)
		}
	}
	missing := &a2a.StoredTask{Task: task("t9", "c1", a2apb.TaskState_TASK_STATE_WORKING, base), Version: 2, UpdatedAt: base, StatusAt: base}
	if err := s.SaveTask(ctx, missing); !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Fatalf("update of a missing task = %v, want ErrTaskNotFound", err)
	}
}

func testList(t *testing.T, s a2a.TaskStore) {
	ctx := context.Background()
	type row struct {
		id, ctxID, owner string
		state            a2apb.TaskState
		at               time.Duration
	}
	rows := []row{
		{"t01", "c1", "alice", a2apb.TaskState_TASK_STATE_COMPLETED, 1 * time.Second},
		{"t02", "c1", "alice", a2apb.TaskState_TASK_STATE_WORKING, 2 * time.Second},
		{"t03", "c2", "alice", a2apb.TaskState_TASK_STATE_COMPLETED, 3 * time.Second},
		{"t04", "c2", "alice", a2apb.TaskState_TASK_STATE_INPUT_REQUIRED, 3 * time.Second}, // same time as t03
		{"t05", "c1", "bob", a2apb.TaskState_TASK_STATE_COMPLETED, 4 * time.Second},
		{"t06", "c1", "alice", a2apb.TaskState_TASK_STATE_FAILED, 5 * time.Second},
		{"t07", "c3", "alice", a2apb.TaskState_TASK_STATE_COMPLETED, 6 * time.Second},
		{"t08", "c1", "", a2apb.TaskState_TASK_STATE_COMPLETED, 7 * time.Second},
	}
	for _, r := range rows {
		at := base.Add(r.at)
		if err := s.SaveTask(ctx, &a2a.StoredTask{Task: task(r.id, r.ctxID, r.state, at), Owner: r.owner, Version: 1, UpdatedAt: at, StatusAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(p *a2a.TaskPage) string {
		s := ""
		for _, st := range p.Tasks {
			s += st.Task.GetId() + " "
		}
		return s
	}
	cases := []struct {
		name  string
		f     a2a.TaskFilter
		want  string
		total int
	}{
		{"owner", a2a.TaskFilter{Owner: "alice", PageSize: 50}, "t07 t06 t04 t03 t02 t01 ", 6},
		{"anonymous", a2a.TaskFilter{Owner: "", PageSize: 50}, "t08 ", 1},
		{"context", a2a.TaskFilter{Owner: "alice", ContextID: "c1", PageSize: 50}, "t06 t02 t01 ", 3},
		{"state", a2a.TaskFilter{Owner: "alice", State: a2apb.TaskState_TASK_STATE_COMPLETED, PageSize: 50}, "t07 t03 t01 ", 3},
		{"statusAfter", a2a.TaskFilter{Owner: "alice", StatusAfter: base.Add(3 * time.Second), PageSize: 50}, "t07 t06 t04 t03 ", 4},
		{"firstPage", a2a.TaskFilter{Owner: "alice", PageSize: 2}, "t07 t06 ", 6},
	}
	for _, c := range cases {
		p, err := s.ListTasks(ctx, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ids(p) != c.want || p.TotalSize != c.total {
			t.Errorf("%s: got %q total %d, want %q total %d", c.name, ids(p), p.TotalSize, c.want, c.total)
		}
	}
	// Walking the pages gives every task once, in order, and the last page has no token.
	got := ""
	f := a2a.TaskFilter{Owner: "alice", PageSize: 2}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		p, err := s.ListTasks(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		got += ids(p)
		if p.NextPageToken == "" {
			break
		}
		f.PageToken = p.NextPageToken
	}
	if got != "t07 t06 t04 t03 t02 t01 " {
		t.Fatalf("pages: %q", got)
	}
	var e *a2a.Error
	if _, err := s.ListTasks(ctx, a2a.TaskFilter{Owner: "alice", PageSize: 2, PageToken: "%%%"}); !errors.As(err, &e) || e.Code != a2a.CodeInvalidParams {
		t.Fatalf("bad page token = %v, want CodeInvalidParams", err)
	}
}

func testPush(t *testing.T, s a2a.TaskStore) {
	ctx := context.Background()
	cfg := func(id, url string) *a2apb.TaskPushNotificationConfig {
		return &a2apb.TaskPushNotificationConfig{TaskId: "t1", Id: id, Url: url, Token: "tok-" + id,
			Authentication: &a2apb.AuthenticationInfo{Scheme: "Bearer", Credentials: "secret"}}
	}
	if err := s.PutPushConfig(ctx, cfg("p1", "https://a.example/h")); !errors.Is(err, a2a.ErrTaskNotFound) {
		t.Fatalf("push config of a missing task = %v, want ErrTaskNotFound", err)
	}
	if err := s.SaveTask(ctx, &a2a.StoredTask{Task: task("t1", "c1", a2apb.TaskState_TASK_STATE_WORKING, base), Version: 1, UpdatedAt: base, StatusAt: base}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*a2apb.TaskPushNotificationConfig{cfg("p2", "https://b.example/h"), cfg("p1", "https://a.example/h"), cfg("p1", "https://a.example/v2")} {
		if err := s.PutPushConfig(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetPushConfig(ctx, "t1", "p1")
	if err != nil || !proto.Equal(got, cfg("p1", "https://a.example/v2")) {
		t.Fatalf("GetPushConfig = %v, %v", got, err)
	}
	list, err := s.ListPushConfigs(ctx, "t1")
	if err != nil || len(list) != 2 || list[0].GetId() != "p1" || list[1].GetId() != "p2" {
		t.Fatalf("ListPushConfigs = %v, %v", list, err)
	}
	if list, err := s.ListPushConfigs(ctx, "t2"); err != nil || len(list) != 0 {
		t.Fatalf("ListPushConfigs(other task) = %v, %v", list, err)
	}
	if err := s.DeletePushConfig(ctx, "t1", "p1"); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"delete again": s.DeletePushConfig(ctx, "t1", "p1"),
		"get deleted":  errOnly(s.GetPushConfig(ctx, "t1", "p1")),
		"get missing":  errOnly(s.GetPushConfig(ctx, "t2", "p2")),
	} {
		if !errors.Is(err, a2a.ErrPushConfigNotFound) {
			t.Errorf("%s = %v, want ErrPushConfigNotFound", name, err)
		}
	}
}

func errOnly(_ any, err error) error { return err }
