package a2asql_test

import (
	"context"
	"iter"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/a2a/a2asql"
	"github.com/sovereign-stack/sovereign/a2a/a2atest"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

func TestTaskStore_Conformance(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		// Each subtest of the suite gets a fresh database of the same dialect.
		a2atest.TaskStore(t, func(t *testing.T) a2a.TaskStore {
			if db.Dialect() == store.Postgres {
				return a2asql.New(storetest.Postgres(t))
			}
			return a2asql.New(storetest.SQLite(t))
		})
	})
}

// askExec asks for a name, then greets it.
type askExec struct{}

func (askExec) Execute(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	if rc.Task == nil {
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_INPUT_REQUIRED, a2a.NewTextMessage(a2apb.Role_ROLE_AGENT, "name?"))
	}
	a := &a2apb.Artifact{ArtifactId: "greeting", Parts: []*a2apb.Part{{Content: &a2apb.Part_Text{Text: "hello " + rc.Message.GetParts()[0].GetText()}}}}
	if err := q.Artifact(ctx, a); err != nil {
		return err
	}
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, nil)
}

func (askExec) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error { return nil }

func userMsg(id, s string) *a2apb.Message {
	return &a2apb.Message{MessageId: id, Role: a2apb.Role_ROLE_USER, Parts: []*a2apb.Part{{Content: &a2apb.Part_Text{Text: s}}}}
}

// restart checks a task made by one server is there, whole, for the next one over the same
// database, and can be subscribed to and continued.
func restart(t *testing.T, open func() *store.DB, reopen func(*store.DB) *store.DB) {
	ctx := context.Background()
	caller := a2a.WithCaller(ctx, "spiffe://td/alice")
	db := open()
	srv := a2a.NewServer(a2a.ServerConfig{Executor: askExec{}, Store: a2asql.New(db)})
	res, err := srv.SendMessage(caller, &a2apb.SendMessageRequest{Message: userMsg("m1", "hi")})
	if err != nil {
		t.Fatal(err)
	}
	before := res.GetTask()
	if before.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_INPUT_REQUIRED {
		t.Fatalf("task = %v", before)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	db = reopen(db)

	srv = a2a.NewServer(a2a.ServerConfig{Executor: askExec{}, Store: a2asql.New(db)})
	defer srv.Close()
	got, err := srv.GetTask(caller, &a2apb.GetTaskRequest{Id: before.GetId()})
	if err != nil || !proto.Equal(got, before) {
		t.Fatalf("after restart GetTask = %v, %v\nwant %v", got, err, before)
	}
	// A subscription shows the task as stored, and stays open until the answer completes it.
	next, stop := iter.Pull2(srv.SubscribeToTask(caller, &a2apb.SubscribeToTaskRequest{Id: before.GetId()}))
	defer stop()
	if first, err, _ := next(); err != nil || !proto.Equal(first.GetTask(), before) {
		t.Fatalf("after restart SubscribeToTask = %v, %v", first, err)
	}
	answer := userMsg("m2", "Ada")
	answer.TaskId = before.GetId()
	res, err = srv.SendMessage(caller, &a2apb.SendMessageRequest{Message: answer})
	if err != nil || res.GetTask().GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED ||
		res.GetTask().GetArtifacts()[0].GetParts()[0].GetText() != "hello Ada" || len(res.GetTask().GetHistory()) != 3 {
		t.Fatalf("continued after restart: %v, %v", res, err)
	}
	var last *a2apb.StreamResponse
	for {
		ev, err, ok := next()
		if !ok {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = ev
	}
	if last.GetStatusUpdate().GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("subscription ended with %v", last)
	}
	list, err := srv.ListTasks(caller, &a2apb.ListTasksRequest{})
	if err != nil || list.GetTotalSize() != 1 {
		t.Fatalf("ListTasks = %v, %v", list, err)
	}
}

func TestServer_TasksSurviveRestart(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		restart(t, func() *store.DB { return db }, func(db *store.DB) *store.DB { return db })
	})
}

func TestServer_TasksSurviveReopeningTheSQLiteFile(t *testing.T) {
	dsn := "sqlite://" + filepath.Join(t.TempDir(), "agent.db")
	open := func() *store.DB {
		db, err := store.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		return db
	}
	restart(t, open, func(db *store.DB) *store.DB {
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		return open()
	})
}
