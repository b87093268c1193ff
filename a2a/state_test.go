package a2a_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

var allStates = []a2apb.TaskState{
	a2apb.TaskState_TASK_STATE_UNSPECIFIED, a2apb.TaskState_TASK_STATE_SUBMITTED, a2apb.TaskState_TASK_STATE_WORKING,
	a2apb.TaskState_TASK_STATE_INPUT_REQUIRED, a2apb.TaskState_TASK_STATE_AUTH_REQUIRED, a2apb.TaskState_TASK_STATE_COMPLETED,
	a2apb.TaskState_TASK_STATE_FAILED, a2apb.TaskState_TASK_STATE_CANCELED, a2apb.TaskState_TASK_STATE_REJECTED,
}

func TestCanTransition_TerminalStatesAreTerminal(t *testing.T) {
	for _, from := range allStates {
		for _, to := range allStates {
			got := a2a.CanTransition(from, to)
			want := !a2a.Terminal(from) && to != a2apb.TaskState_TASK_STATE_UNSPECIFIED &&
				(to != a2apb.TaskState_TASK_STATE_SUBMITTED || from == a2apb.TaskState_TASK_STATE_UNSPECIFIED)
			if got != want {
				t.Errorf("CanTransition(%v, %v) = %v, want %v", from, to, got, want)
			}
		}
	}
	for _, s := range allStates {
		if a2a.Terminal(s) && a2a.Interrupted(s) {
			t.Errorf("%v is both terminal and interrupted", s)
		}
	}
}

// scriptExec writes a given list of events and records which the queue accepted.
type scriptExec struct {
	events   []*a2apb.StreamResponse
	accepted []*a2apb.StreamResponse
	rejected []error
	ok       []bool
	done     chan struct{}
}

func (e *scriptExec) Execute(ctx context.Context, _ *a2a.RequestContext, q *a2a.EventQueue) error {
	defer close(e.done)
	for _, ev := range e.events {
		err := q.Write(ctx, ev)
		if err != nil {
			e.rejected = append(e.rejected, err)
		} else {
			e.accepted = append(e.accepted, ev)
		}
		e.ok = append(e.ok, err == nil)
	}
	return nil
}

func (e *scriptExec) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error { return nil }

func genEvent(t *rapid.T, i int) *a2apb.StreamResponse {
	switch rapid.IntRange(0, 2).Draw(t, "kind") {
	case 0:
		st := rapid.SampledFrom(allStates).Draw(t, "state")
		var m *a2apb.Message
		if rapid.Bool().Draw(t, "withMessage") {
			m = agentText("status")
			m.MessageId = "s" + string(rune('A'+i))
		}
		return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_StatusUpdate{StatusUpdate: &a2apb.TaskStatusUpdateEvent{
			Status: &a2apb.TaskStatus{State: st, Message: m}}}}
	case 1:
		id := rapid.SampledFrom([]string{"a", "b"}).Draw(t, "artifact")
		return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_ArtifactUpdate{ArtifactUpdate: &a2apb.TaskArtifactUpdateEvent{
			Artifact: &a2apb.Artifact{ArtifactId: id, Parts: []*a2apb.Part{text(string(rune('a' + i)))}},
			Append:   rapid.Bool().Draw(t, "append"), LastChunk: rapid.Bool().Draw(t, "last")}}}
	default:
		m := agentText("note")
		m.MessageId = "n" + string(rune('A'+i))
		return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Message{Message: m}}
	}
}

// TestServer_StateMachineProperty writes random event sequences through a server and checks,
// against a model written independently of Apply, that a terminal task never changes, every
// accepted state change is allowed, and the stored task is the fold of the accepted events.
func TestServer_StateMachineProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		n := rapid.IntRange(1, 25).Draw(rt, "n")
		exec := &scriptExec{done: make(chan struct{})}
		for i := range n {
			exec.events = append(exec.events, genEvent(rt, i))
		}
		srv := a2a.NewServer(a2a.ServerConfig{Executor: exec, Logger: slog.New(slog.DiscardHandler)})
		defer srv.Close()
		ctx := context.Background()
		user := userMsg("go")
		res, err := srv.SendMessage(ctx, &a2apb.SendMessageRequest{Message: user})
		if err != nil {
			rt.Fatalf("SendMessage: %v", err)
		}
		<-exec.done
		for _, e := range exec.rejected {
			if !errors.Is(e, &a2a.Error{Code: a2a.CodeInvalidAgentResponse}) {
				rt.Fatalf("rejection %v is not CodeInvalidAgentResponse", e)
			}
		}
		if exec.events[0].GetMessage() != nil { // a direct answer, and nothing after it
			if res.GetMessage() == nil || len(exec.accepted) != 1 {
				rt.Fatalf("direct answer: %v, %d accepted", res, len(exec.accepted))
			}
			return
		}
		// The model.
		state := a2apb.TaskState_TASK_STATE_SUBMITTED
		type art struct {
			id    string
			parts []string
		}
		var arts []art
		history := []string{user.GetMessageId()}
		for i, ev := range exec.events {
			accept := !a2a.Terminal(state)
			if u := ev.GetStatusUpdate(); u != nil {
				accept = accept && a2a.CanTransition(state, u.GetStatus().GetState())
			}
			if accept != exec.ok[i] {
				rt.Fatalf("event %d (%v) on a %v task: accepted %v, model says %v", i, ev, state, exec.ok[i], accept)
			}
			if !accept {
				continue
			}
			switch {
			case ev.GetStatusUpdate() != nil:
				state = ev.GetStatusUpdate().GetStatus().GetState()
				if m := ev.GetStatusUpdate().GetStatus().GetMessage(); m != nil {
					history = append(history, m.GetMessageId())
				}
			case ev.GetArtifactUpdate() != nil:
				u := ev.GetArtifactUpdate()
				p := u.GetArtifact().GetParts()[0].GetText()
				i := slices.IndexFunc(arts, func(a art) bool { return a.id == u.GetArtifact().GetArtifactId() })
				switch {
				case i < 0:
					arts = append(arts, art{u.GetArtifact().GetArtifactId(), []string{p}})
				case u.GetAppend():
					arts[i].parts = append(arts[i].parts, p)
				default:
					arts[i].parts = []string{p}
				}
			case ev.GetMessage() != nil:
				history = append(history, ev.GetMessage().GetMessageId())
			}
		}
		// The server fails a task the executor leaves submitted or working.
		if !a2a.Terminal(state) && !a2a.Interrupted(state) {
			state = a2apb.TaskState_TASK_STATE_FAILED
			history = append(history, "(server)")
		}
		// The server settles the task once Execute has returned: wait for it.
		var got *a2apb.Task
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
			got, err = srv.GetTask(ctx, &a2apb.GetTaskRequest{Id: res.GetTask().GetId()})
			if err != nil {
				rt.Fatal(err)
			}
			if st := got.GetStatus().GetState(); a2a.Terminal(st) || a2a.Interrupted(st) || time.Now().After(deadline) {
				break
			}
		}
		if got.GetStatus().GetState() != state {
			rt.Fatalf("stored state %v, model %v", got.GetStatus().GetState(), state)
		}
		if len(got.GetArtifacts()) != len(arts) {
			rt.Fatalf("stored %d artifacts, model %d", len(got.GetArtifacts()), len(arts))
		}
		for i, a := range got.GetArtifacts() {
			var parts []string
			for _, p := range a.GetParts() {
				parts = append(parts, p.GetText())
			}
			if a.GetArtifactId() != arts[i].id || !slices.Equal(parts, arts[i].parts) {
				rt.Fatalf("artifact %d: stored %s %v, model %s %v", i, a.GetArtifactId(), parts, arts[i].id, arts[i].parts)
			}
		}
		if len(got.GetHistory()) != len(history) {
			rt.Fatalf("stored history of %d, model %d", len(got.GetHistory()), len(history))
		}
		for i, m := range got.GetHistory() {
			if history[i] != "(server)" && m.GetMessageId() != history[i] {
				rt.Fatalf("history[%d] = %s, model %s", i, m.GetMessageId(), history[i])
			}
		}
	})
}

func statusOf(taskID, contextID string, s a2apb.TaskState) *a2apb.StreamResponse {
	return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_StatusUpdate{StatusUpdate: &a2apb.TaskStatusUpdateEvent{
		TaskId: taskID, ContextId: contextID, Status: &a2apb.TaskStatus{State: s}}}}
}

func taskOf(id, contextID string, s a2apb.TaskState) *a2apb.StreamResponse {
	return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Task{Task: &a2apb.Task{Id: id, ContextId: contextID, Status: &a2apb.TaskStatus{State: s}}}}
}

func TestApply_EnforcesIdentityAndStates(t *testing.T) {
	working, err := a2a.Apply(nil, taskOf("t", "c", a2apb.TaskState_TASK_STATE_WORKING))
	if err != nil {
		t.Fatal(err)
	}
	working.History = []*a2apb.Message{userMsg("x")}
	done, err := a2a.Apply(working, taskOf("t", "c", a2apb.TaskState_TASK_STATE_COMPLETED))
	if err != nil || len(done.GetHistory()) != 1 {
		t.Fatalf("task snapshot keeps history: %v, %v", done, err)
	}
	bad := map[string]struct {
		task *a2apb.Task
		ev   *a2apb.StreamResponse
	}{
		"no task yet":         {nil, statusOf("t", "c", a2apb.TaskState_TASK_STATE_WORKING)},
		"task without id":     {nil, taskOf("", "c", a2apb.TaskState_TASK_STATE_WORKING)},
		"other task":          {working, statusOf("u", "c", a2apb.TaskState_TASK_STATE_COMPLETED)},
		"other context":       {working, taskOf("t", "d", a2apb.TaskState_TASK_STATE_COMPLETED)},
		"back to submitted":   {working, statusOf("t", "c", a2apb.TaskState_TASK_STATE_SUBMITTED)},
		"snapshot after done": {done, taskOf("t", "c", a2apb.TaskState_TASK_STATE_COMPLETED)},
		"status after done":   {done, statusOf("t", "c", a2apb.TaskState_TASK_STATE_FAILED)},
		"empty event":         {working, &a2apb.StreamResponse{}},
		"artifact without id": {working, &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_ArtifactUpdate{ArtifactUpdate: &a2apb.TaskArtifactUpdateEvent{
			TaskId: "t", ContextId: "c", Artifact: &a2apb.Artifact{}}}}},
	}
	for name, c := range bad {
		if _, err := a2a.Apply(c.task, c.ev); code(err) != a2a.CodeInvalidAgentResponse {
			t.Errorf("%s: %v, want CodeInvalidAgentResponse", name, err)
		}
	}
}

// snapshotExec answers with a Task snapshot first (the style of other SDKs), then completes.
type snapshotExec struct{}

func (snapshotExec) Execute(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	if err := q.Write(ctx, &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Task{Task: &a2apb.Task{
		Id: rc.TaskID, ContextId: rc.ContextID, Status: &a2apb.TaskStatus{State: a2apb.TaskState_TASK_STATE_WORKING}}}}); err != nil {
		return err
	}
	m := agentText("from the agent")
	m.TaskId = rc.TaskID
	if err := q.Message(ctx, m); err != nil {
		return err
	}
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, nil)
}

func (snapshotExec) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error { return nil }

func TestServer_ExecutorMayStartWithASnapshot(t *testing.T) {
	srv := a2a.NewServer(a2a.ServerConfig{Executor: snapshotExec{}})
	defer srv.Close()
	ctx := ctxT(t)
	evs, err := collect(srv.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("hi")}))
	if err != nil || kinds(evs) != "task:WORKING message status:COMPLETED" {
		t.Fatalf("stream = %s, %v", kinds(evs), err)
	}
	task, _ := srv.GetTask(ctx, &a2apb.GetTaskRequest{Id: evs[0].GetTask().GetId()})
	if h := task.GetHistory(); len(h) != 2 || h[0].GetRole() != a2apb.Role_ROLE_USER || h[1].GetParts()[0].GetText() != "from the agent" {
		t.Fatalf("history = %v", h)
	}
}
