package a2a_test

import (
	"context"
	"errors"
	"iter"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// testExec is an agent whose behaviour the first word of the message picks:
//
//	echo …   working, one artifact with the message's parts, completed
//	reply    a direct message, no task
//	stream   working, three chunks of one artifact (each waits for gate, when set), completed
//	ask      input-required; the next message completes the task with a greeting
//	fail     working, then an error (the task fails)
//	reject   an *Error before any event (the client gets it; no task)
//	slow     working, then waits to be canceled
//	panic    panics
//	silent   returns without a word
type testExec struct {
	gate    chan struct{}
	cancels atomic.Int32
}

func agentText(s string) *a2apb.Message { return a2a.NewTextMessage(a2apb.Role_ROLE_AGENT, s) }

func text(s string) *a2apb.Part { return &a2apb.Part{Content: &a2apb.Part_Text{Text: s}} }

func (e *testExec) Execute(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	if rc.Task != nil { // the answer to "ask"
		if err := q.Artifact(ctx, &a2apb.Artifact{ArtifactId: "greeting", Parts: []*a2apb.Part{text("hello " + rc.Message.GetParts()[0].GetText())}}); err != nil {
			return err
		}
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, nil)
	}
	cmd, _, _ := strings.Cut(rc.Message.GetParts()[0].GetText(), " ")
	switch cmd {
	case "echo":
		if err := q.Status(ctx, a2apb.TaskState_TASK_STATE_WORKING, nil); err != nil {
			return err
		}
		if err := q.Artifact(ctx, &a2apb.Artifact{ArtifactId: "echo", Parts: rc.Message.GetParts()}); err != nil {
			return err
		}
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, agentText("done"))
	case "reply":
		return q.Message(ctx, agentText("hi"))
	case "stream":
		if err := q.Status(ctx, a2apb.TaskState_TASK_STATE_WORKING, nil); err != nil {
			return err
		}
		for i := range 3 {
			if e.gate != nil {
				select {
				case <-e.gate:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			a := &a2apb.Artifact{ArtifactId: "out", Parts: []*a2apb.Part{text("chunk" + string(rune('0'+i)))}}
			if err := q.ArtifactChunk(ctx, a, a2a.Chunk{Append: i > 0, Last: i == 2}); err != nil {
				return err
			}
		}
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, nil)
	case "ask":
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_INPUT_REQUIRED, agentText("who are you?"))
	case "fail":
		if err := q.Status(ctx, a2apb.TaskState_TASK_STATE_WORKING, nil); err != nil {
			return err
		}
		return errors.New("boom")
	case "reject":
		return a2a.Errorf(a2a.CodeUnsupportedOperation, "not today")
	case "slow":
		if err := q.Status(ctx, a2apb.TaskState_TASK_STATE_WORKING, nil); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	case "panic":
		panic("oops")
	}
	return nil
}

func (e *testExec) Cancel(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	e.cancels.Add(1)
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_CANCELED, agentText("canceled as asked"))
}

type fixture struct {
	srv  *a2a.Server
	exec *testExec
}

func newServer(t *testing.T, mod func(*a2a.ServerConfig)) fixture {
	t.Helper()
	exec := &testExec{}
	cfg := a2a.ServerConfig{Executor: exec, Logger: slog.New(slog.DiscardHandler), Card: &a2apb.AgentCard{Name: "test", DefaultInputModes: []string{"text/plain", "application/json"},
		Capabilities: &a2apb.AgentCapabilities{Streaming: proto.Bool(true)}}}
	if mod != nil {
		mod(&cfg)
	}
	srv := a2a.NewServer(cfg)
	t.Cleanup(func() { _ = srv.Close() })
	return fixture{srv: srv, exec: exec}
}

var msgSeq atomic.Int64

func userMsg(s string) *a2apb.Message {
	return &a2apb.Message{MessageId: "u" + time.Now().Format("150405.000000") + string(rune('a'+msgSeq.Add(1)%26)), Role: a2apb.Role_ROLE_USER, Parts: []*a2apb.Part{text(s)}}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func code(err error) int {
	var e *a2a.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func wantCode(t *testing.T, what string, err error, c int) {
	t.Helper()
	if code(err) != c {
		t.Fatalf("%s: error %v, want code %d", what, err, c)
	}
}

func sendTask(t *testing.T, h a2a.Handler, ctx context.Context, m *a2apb.Message, cfg *a2apb.SendMessageConfiguration) *a2apb.Task {
	t.Helper()
	res, err := h.SendMessage(ctx, &a2apb.SendMessageRequest{Message: m, Configuration: cfg})
	if err != nil {
		t.Fatalf("SendMessage(%q): %v", m.GetParts()[0].GetText(), err)
	}
	if res.GetTask() == nil {
		t.Fatalf("SendMessage(%q) = %v, want a task", m.GetParts()[0].GetText(), res)
	}
	return res.GetTask()
}

func state(t *a2apb.Task) a2apb.TaskState { return t.GetStatus().GetState() }

func collect(seq iter.Seq2[*a2apb.StreamResponse, error]) ([]*a2apb.StreamResponse, error) {
	var out []*a2apb.StreamResponse
	for ev, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
	return out, nil
}

// kinds describes a stream compactly: task:submitted status:working artifact:out+ …
func kinds(evs []*a2apb.StreamResponse) string {
	var b []string
	for _, ev := range evs {
		switch {
		case ev.GetTask() != nil:
			b = append(b, "task:"+state(ev.GetTask()).String()[11:])
		case ev.GetMessage() != nil:
			b = append(b, "message")
		case ev.GetStatusUpdate() != nil:
			b = append(b, "status:"+ev.GetStatusUpdate().GetStatus().GetState().String()[11:])
		case ev.GetArtifactUpdate() != nil:
			u := ev.GetArtifactUpdate()
			s := "artifact:" + u.GetArtifact().GetArtifactId()
			if u.GetAppend() {
				s += "+"
			}
			if u.GetLastChunk() {
				s += "!"
			}
			b = append(b, s)
		}
	}
	return strings.Join(b, " ")
}

func TestServer_SendMessage_BlocksUntilTerminal(t *testing.T) {
	f := newServer(t, nil)
	ctx := ctxT(t)
	m := userMsg("echo hi")
	task := sendTask(t, f.srv, ctx, m, nil)
	if state(task) != a2apb.TaskState_TASK_STATE_COMPLETED || task.GetId() == "" || task.GetContextId() == "" {
		t.Fatalf("task = %v", task)
	}
	if len(task.GetArtifacts()) != 1 || task.GetArtifacts()[0].GetParts()[0].GetText() != "echo hi" {
		t.Fatalf("artifacts = %v", task.GetArtifacts())
	}
	h := task.GetHistory()
	if len(h) != 2 || h[0].GetMessageId() != m.GetMessageId() || h[0].GetTaskId() != task.GetId() || h[1].GetParts()[0].GetText() != "done" {
		t.Fatalf("history = %v", h)
	}
	if task.GetStatus().GetTimestamp() == nil {
		t.Fatal("status has no timestamp")
	}
	got, err := f.srv.GetTask(ctx, &a2apb.GetTaskRequest{Id: task.GetId()})
	if err != nil || !proto.Equal(got, task) {
		t.Fatalf("GetTask = %v, %v; want %v", got, err, task)
	}
}

func TestServer_HistoryLength(t *testing.T) {
	f := newServer(t, nil)
	ctx := ctxT(t)
	for _, n := range []int32{0, 1, 5} {
		task := sendTask(t, f.srv, ctx, userMsg("echo x"), &a2apb.SendMessageConfiguration{HistoryLength: proto.Int32(n)})
		if want := min(int(n), 2); len(task.GetHistory()) != want {
			t.Fatalf("SendMessage history_length %d: %d messages", n, len(task.GetHistory()))
		}
		got, err := f.srv.GetTask(ctx, &a2apb.GetTaskRequest{Id: task.GetId(), HistoryLength: proto.Int32(n)})
		if err != nil || len(got.GetHistory()) != min(int(n), 2) {
			t.Fatalf("GetTask history_length %d: %v, %v", n, got.GetHistory(), err)
		}
		if n == 1 && got.GetHistory()[0].GetParts()[0].GetText() != "done" {
			t.Fatalf("history_length 1 kept %v, want the latest message", got.GetHistory())
		}
	}
	_, err := f.srv.GetTask(ctx, &a2apb.GetTaskRequest{Id: "x", HistoryLength: proto.Int32(-1)})
	wantCode(t, "negative history_length", err, a2a.CodeInvalidParams)
}

func TestServer_DirectReplyCreatesNoTask(t *testing.T) {
	f := newServer(t, nil)
	ctx := ctxT(t)
	res, err := f.srv.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("reply")})
	if err != nil || res.GetMessage().GetParts()[0].GetText() != "hi" || res.GetMessage().GetContextId() == "" || res.GetMessage().GetTaskId() != "" {
		t.Fatalf("SendMessage = %v, %v", res, err)
	}
	list, err := f.srv.ListTasks(ctx, &a2apb.ListTasksRequest{})
	if err != nil || len(list.GetTasks()) != 0 {
		t.Fatalf("ListTasks = %v, %v", list, err)
	}
	evs, err := collect(f.srv.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("reply")}))
	if err != nil || kinds(evs) != "message" {
		t.Fatalf("stream = %s, %v", kinds(evs), err)
	}
}

func TestServer_StreamingMessage(t *testing.T) {
	f := newServer(t, nil)
	ctx := ctxT(t)
	evs, err := collect(f.srv.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("stream")}))
	if err != nil {
		t.Fatal(err)
	}
	want := "task:SUBMITTED status:WORKING artifact:out artifact:out+ artifact:out+! status:COMPLETED"
	if kinds(evs) != want {
		t.Fatalf("stream = %s\nwant %s", kinds(evs), want)
	}
	id := evs[0].GetTask().GetId()
	task, err := f.srv.GetTask(ctx, &a2apb.GetTaskRequest{Id: id})
	if err != nil {
		t.Fatal(err)
	}
	if parts := task.GetArtifacts()[0].GetParts(); len(task.GetArtifacts()) != 1 || len(parts) != 3 || parts[2].GetText() != "chunk2" {
		t.Fatalf("artifacts = %v", task.GetArtifacts())
	}
}

func TestServer_InputRequiredThenResume(t *testing.T) {
	f := newServer(t, nil)
	ctx := ctxT(t)
	task := sendTask(t, f.srv, ctx, userMsg("ask"), nil)
	if state(task) != a2apb.TaskState_TASK_STATE_INPUT_REQUIRED {
		t.Fatalf("state = %v", state(task))
	}
	// A wrong context is refused; the right task id resumes the task.
	wrong := userMsg("Ada")
	wrong.TaskId, wrong.ContextId = task.GetId(), "other"
	_, err := f.srv.SendMessage(ctx, &a2apb.SendMessageRequest{Message: wrong})
	wantCode(t, "context mismatch", err, a2a.CodeInvalidParams)

	answer := userMsg("Ada")
	answer.TaskId = task.GetId()
	done := sendTask(t, f.srv, ctx, answer, nil)
	if state(done) != a2apb.TaskState_TASK_STATE_COMPLETED || done.GetArtifacts()[0].GetParts()[0].GetText() != "hello Ada" {
		t.Fatalf("resumed task = %v", done)
	}
	if h := done.GetHistory(); len(h) != 3 || h[2].GetMessageId() != answer.GetMessageId() || h[2].GetContextId() != task.GetContextId() {
		t.Fatalf("history = %v", h)
	}
	// A terminal task takes no more messages.
	again := userMsg("again")
	again.TaskId = task.GetId()
	_, err = f.srv.SendMessage(ctx, &a2apb.SendMessageRequest{Message: again})
	wantCode(t, "message to a completed task", err, a2a.CodeUnsupportedOperation)
	_, err = collect(f.srv.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: again}))
	wantCode(t, "stream to a completed task", err, a2a.CodeUnsupportedOperation)
	// A message naming an unknown task.
	lost := userMsg("hello")
	lost.TaskId = "task_nope"
	_, err = f.srv.SendMessage(ctx, &a2apb.SendMessageRequest{Message: lost})
	wantCode(t, "unknown task", err, a2a.CodeTaskNotFound)
}

func TestServer_ResumeByStream(t *testing.T) {
	f := newServer(t, nil)
	ctx := ctxT(t)
	task := sendTask(t, f.srv, ctx, userMsg("ask"), nil)
	answer := userMsg("Bo")
	answer.TaskId = task.GetId()
	evs, err := collect(f.srv.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: answer}))
	if err != nil || kinds(evs) != "task:INPUT_REQUIRED artifact:greeting! status:COMPLETED" {
		t.Fatalf("stream = %s, %v", kinds(evs), err)
	}
}

func TestServer_ExecutorFailures(t *testing.T) {
	f := newServer(t, nil)
	ctx := ctxT(t)
	task := sendTask(t, f.srv, ctx, userMsg("fail"), nil)
	if state(task) != a2apb.TaskState_TASK_STATE_FAILED || task.GetStatus().GetMessage().GetParts()[0].GetText() != "internal error" {
		t.Fatalf("failed task = %v", task)
	}
	_, err := f.srv.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("reject")})
	wantCode(t, "executor refusal", err, a2a.CodeUnsupportedOperation)
	_, err = collect(f.srv.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("reject")}))
	wantCode(t, "executor refusal, streamed", err, a2a.CodeUnsupportedOperation)
	_, err = f.srv.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("panic")})
	wantCode(t, "executor panic", err, a2a.CodeInternalError)
	_, err = f.srv.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("silent")})
	wantCode(t, "silent executor", err, a2a.CodeInvalidAgentResponse)
	list, err := f.srv.ListTasks(ctx, &a2apb.ListTasksRequest{})
	if err != nil || len(list.GetTasks()) != 1 {
		t.Fatalf("only the failed task exists: %v, %v", list, err)
	}
}

// illegalExec completes a task and then tries to move it again.
type illegalExec struct{ second chan error }

func (e *illegalExec) Execute(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	if err := q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, nil); err != nil {
		return err
	}
	err := q.Status(ctx, a2apb.TaskState_TASK_STATE_WORKING, nil)
	e.second <- err
	if err2 := q.Artifact(ctx, &a2apb.Artifact{ArtifactId: "late", Parts: []*a2apb.Part{text("x")}}); err2 == nil {
		e.second <- errors.New("artifact on a completed task accepted")
	}
	return err
}

func (e *illegalExec) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error { return nil }

func TestServer_TerminalStaysTerminal(t *testing.T) {
	exec := &illegalExec{second: make(chan error, 2)}
	srv := a2a.NewServer(a2a.ServerConfig{Executor: exec})
	t.Cleanup(func() { _ = srv.Close() })
	ctx := ctxT(t)
	task := sendTask(t, srv, ctx, userMsg("x"), nil)
	wantCode(t, "completed → working", <-exec.second, a2a.CodeInvalidAgentResponse)
	time.Sleep(20 * time.Millisecond)
	select {
	case err := <-exec.second:
		t.Fatal(err)
	default:
	}
	got, _ := srv.GetTask(ctx, &a2apb.GetTaskRequest{Id: task.GetId()})
	if state(got) != a2apb.TaskState_TASK_STATE_COMPLETED || len(got.GetArtifacts()) != 0 {
		t.Fatalf("task = %v", got)
	}
}

func TestServer_RejectsBadMessages(t *testing.T) {
	f := newServer(t, func(c *a2a.ServerConfig) { c.Limits = a2a.Limits{MaxParts: 4, MaxMessageBytes: 1000} })
	ctx := ctxT(t)
	mod := func(fn func(m *a2apb.Message)) *a2apb.Message {
		m := userMsg("echo")
		fn(m)
		return m
	}
	cases := []struct {
		name string
		msg  *a2apb.Message
		code int
	}{
		{"no message", nil, a2a.CodeInvalidParams},
		{"no message id", mod(func(m *a2apb.Message) { m.MessageId = "" }), a2a.CodeInvalidParams},
		{"no role", mod(func(m *a2apb.Message) { m.Role = a2apb.Role_ROLE_UNSPECIFIED }), a2a.CodeInvalidParams},
		{"agent role", mod(func(m *a2apb.Message) { m.Role = a2apb.Role_ROLE_AGENT }), a2a.CodeInvalidParams},
		{"no parts", mod(func(m *a2apb.Message) { m.Parts = nil }), a2a.CodeInvalidParams},
		{"empty part", mod(func(m *a2apb.Message) { m.Parts = append(m.Parts, &a2apb.Part{MediaType: "text/plain"}) }), a2a.CodeInvalidParams},
		{"too many parts", mod(func(m *a2apb.Message) {
			for range 4 {
				m.Parts = append(m.Parts, text("x"))
			}
		}), a2a.CodeInvalidParams},
		{"oversized", mod(func(m *a2apb.Message) { m.Parts[0] = text("echo " + strings.Repeat("x", 2000)) }), a2a.CodeInvalidParams},
		{"content type", mod(func(m *a2apb.Message) {
			m.Parts = append(m.Parts, &a2apb.Part{Content: &a2apb.Part_Raw{Raw: []byte{1}}, MediaType: "image/png"})
		}), a2a.CodeContentTypeNotSupported},
		{"raw without type", mod(func(m *a2apb.Message) {
			m.Parts = append(m.Parts, &a2apb.Part{Content: &a2apb.Part_Raw{Raw: []byte{1}}})
		}), a2a.CodeContentTypeNotSupported},
	}
	for _, c := range cases {
		_, err := f.srv.SendMessage(ctx, &a2apb.SendMessageRequest{Message: c.msg})
		wantCode(t, c.name, err, c.code)
		_, err = collect(f.srv.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: c.msg}))
		wantCode(t, c.name+" (stream)", err, c.code)
	}
	_, err := f.srv.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("echo"), Configuration: &a2apb.SendMessageConfiguration{HistoryLength: proto.Int32(-2)}})
	wantCode(t, "negative history_length", err, a2a.CodeInvalidParams)
	// A JSON data part with a parameterized media type is fine.
	ok := mod(func(m *a2apb.Message) {
		m.Parts = append(m.Parts, &a2apb.Part{Content: &a2apb.Part_Text{Text: "{}"}, MediaType: "application/json; charset=utf-8"})
	})
	if _, err := f.srv.SendMessage(ctx, &a2apb.SendMessageRequest{Message: ok}); err != nil {
		t.Fatal(err)
	}
}

func TestServer_TasksAreTheCallers(t *testing.T) {
	f := newServer(t, nil)
	alice := a2a.WithCaller(ctxT(t), "spiffe://td/alice")
	bob := a2a.WithCaller(ctxT(t), "spiffe://td/bob")
	task := sendTask(t, f.srv, alice, userMsg("ask"), nil)
	_, err := f.srv.GetTask(bob, &a2apb.GetTaskRequest{Id: task.GetId()})
	wantCode(t, "another caller's task", err, a2a.CodeTaskNotFound)
	_, err = f.srv.CancelTask(bob, &a2apb.CancelTaskRequest{Id: task.GetId()})
	wantCode(t, "cancel another caller's task", err, a2a.CodeTaskNotFound)
	m := userMsg("Eve")
	m.TaskId = task.GetId()
	_, err = f.srv.SendMessage(bob, &a2apb.SendMessageRequest{Message: m})
	wantCode(t, "resume another caller's task", err, a2a.CodeTaskNotFound)
	if l, _ := f.srv.ListTasks(bob, &a2apb.ListTasksRequest{}); len(l.GetTasks()) != 0 {
		t.Fatalf("bob lists %v", l.GetTasks())
	}
	if l, _ := f.srv.ListTasks(alice, &a2apb.ListTasksRequest{}); len(l.GetTasks()) != 1 {
		t.Fatalf("alice lists %v", l.GetTasks())
	}
}

func TestServer_ListTasks(t *testing.T) {
	f := newServer(t, nil)
	ctx := ctxT(t)
	first := sendTask(t, f.srv, ctx, userMsg("echo 1"), nil)
	var last *a2apb.Task
	for range 4 {
		m := userMsg("echo n")
		m.ContextId = "ctx-shared"
		last = sendTask(t, f.srv, ctx, m, nil)
	}
	asked := sendTask(t, f.srv, ctx, userMsg("ask"), nil)

	all, err := f.srv.ListTasks(ctx, &a2apb.ListTasksRequest{})
	if err != nil || len(all.GetTasks()) != 6 || all.GetTotalSize() != 6 || all.GetPageSize() != 50 || all.GetNextPageToken() != "" {
		t.Fatalf("ListTasks = %d tasks, total %d, size %d, next %q, %v", len(all.GetTasks()), all.GetTotalSize(), all.GetPageSize(), all.GetNextPageToken(), err)
	}
	if all.GetTasks()[0].GetId() != asked.GetId() || all.GetTasks()[5].GetId() != first.GetId() {
		t.Fatal("tasks are not newest first")
	}
	if len(all.GetTasks()[1].GetArtifacts()) != 0 {
		t.Fatal("artifacts listed without include_artifacts")
	}
	withArt, _ := f.srv.ListTasks(ctx, &a2apb.ListTasksRequest{IncludeArtifacts: proto.Bool(true), HistoryLength: proto.Int32(0)})
	if len(withArt.GetTasks()[1].GetArtifacts()) != 1 || len(withArt.GetTasks()[1].GetHistory()) != 0 {
		t.Fatalf("include_artifacts / history_length 0: %v", withArt.GetTasks()[1])
	}
	byCtx, _ := f.srv.ListTasks(ctx, &a2apb.ListTasksRequest{ContextId: "ctx-shared"})
	if byCtx.GetTotalSize() != 4 || byCtx.GetTasks()[0].GetId() != last.GetId() {
		t.Fatalf("by context: %v", byCtx)
	}
	byState, _ := f.srv.ListTasks(ctx, &a2apb.ListTasksRequest{Status: a2apb.TaskState_TASK_STATE_INPUT_REQUIRED})
	if byState.GetTotalSize() != 1 || byState.GetTasks()[0].GetId() != asked.GetId() {
		t.Fatalf("by state: %v", byState)
	}
	after, _ := f.srv.ListTasks(ctx, &a2apb.ListTasksRequest{StatusTimestampAfter: asked.GetStatus().GetTimestamp()})
	if after.GetTotalSize() != 1 {
		t.Fatalf("status_timestamp_after: %d tasks", after.GetTotalSize())
	}
	var seen []string
	req := &a2apb.ListTasksRequest{PageSize: proto.Int32(4)}
	for {
		p, err := f.srv.ListTasks(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, tk := range p.GetTasks() {
			seen = append(seen, tk.GetId())
		}
		if p.GetNextPageToken() == "" {
			break
		}
		req.PageToken = p.GetNextPageToken()
	}
	if len(seen) != 6 || seen[0] != asked.GetId() || seen[5] != first.GetId() {
		t.Fatalf("paged: %v", seen)
	}
	big, _ := f.srv.ListTasks(ctx, &a2apb.ListTasksRequest{PageSize: proto.Int32(500)})
	if big.GetPageSize() != 100 {
		t.Fatalf("page_size 500 became %d, want 100", big.GetPageSize())
	}
	_, err = f.srv.ListTasks(ctx, &a2apb.ListTasksRequest{PageSize: proto.Int32(0)})
	wantCode(t, "page_size 0", err, a2a.CodeInvalidParams)
	_, err = f.srv.ListTasks(ctx, &a2apb.ListTasksRequest{PageToken: "not a token"})
	wantCode(t, "bad page token", err, a2a.CodeInvalidParams)
}

func TestServer_CancelTask(t *testing.T) {
	f := newServer(t, nil)
	ctx := ctxT(t)
	_, err := f.srv.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: "task_unknown"})
	wantCode(t, "cancel unknown", err, a2a.CodeTaskNotFound)

	// A running task: return_immediately gives it back at once, submitted.
	task := sendTask(t, f.srv, ctx, userMsg("slow"), &a2apb.SendMessageConfiguration{ReturnImmediately: true})
	if state(task) != a2apb.TaskState_TASK_STATE_SUBMITTED {
		t.Fatalf("return_immediately: state %v", state(task))
	}
	canceled, err := f.srv.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: task.GetId()})
	if err != nil || state(canceled) != a2apb.TaskState_TASK_STATE_CANCELED || f.exec.cancels.Load() != 1 {
		t.Fatalf("CancelTask = %v, %v (cancels %d)", canceled, err, f.exec.cancels.Load())
	}
	_, err = f.srv.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: task.GetId()})
	wantCode(t, "cancel canceled", err, a2a.CodeTaskNotCancelable)

	// An interrupted task nothing runs.
	asked := sendTask(t, f.srv, ctx, userMsg("ask"), nil)
	canceled, err = f.srv.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: asked.GetId()})
	if err != nil || state(canceled) != a2apb.TaskState_TASK_STATE_CANCELED {
		t.Fatalf("cancel input-required = %v, %v", canceled, err)
	}
	done := sendTask(t, f.srv, ctx, userMsg("echo"), nil)
	_, err = f.srv.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: done.GetId()})
	wantCode(t, "cancel completed", err, a2a.CodeTaskNotCancelable)
}

func TestServer_CancelEndsABlockingSend(t *testing.T) {
	f := newServer(t, nil)
	ctx := ctxT(t)
	evs := f.srv.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("slow")})
	var got []*a2apb.StreamResponse
	for ev, err := range evs {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev)
		if ev.GetStatusUpdate().GetStatus().GetState() == a2apb.TaskState_TASK_STATE_WORKING {
			if _, err := f.srv.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: ev.GetStatusUpdate().GetTaskId()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if kinds(got) != "task:SUBMITTED status:WORKING status:CANCELED" {
		t.Fatalf("stream = %s", kinds(got))
	}
}

func TestServer_SubscribeErrors(t *testing.T) {
	f := newServer(t, nil)
	ctx := ctxT(t)
	_, err := collect(f.srv.SubscribeToTask(ctx, &a2apb.SubscribeToTaskRequest{Id: "task_unknown"}))
	wantCode(t, "subscribe unknown", err, a2a.CodeTaskNotFound)
	done := sendTask(t, f.srv, ctx, userMsg("echo"), nil)
	_, err = collect(f.srv.SubscribeToTask(ctx, &a2apb.SubscribeToTaskRequest{Id: done.GetId()}))
	wantCode(t, "subscribe completed", err, a2a.CodeUnsupportedOperation)
}

// TestServer_SubscribeThroughInputRequired: a subscription to an interrupted task stays open
// while nothing runs, follows the run the client's answer starts, and ends at the terminal state.
func TestServer_SubscribeThroughInputRequired(t *testing.T) {
	f := newServer(t, nil)
	ctx := ctxT(t)
	asked := sendTask(t, f.srv, ctx, userMsg("ask"), nil)
	next, stop := iter.Pull2(f.srv.SubscribeToTask(ctx, &a2apb.SubscribeToTaskRequest{Id: asked.GetId()}))
	defer stop()
	first, err, ok := next()
	if !ok || err != nil || kinds([]*a2apb.StreamResponse{first}) != "task:INPUT_REQUIRED" {
		t.Fatalf("first event = %v, %v", first, err)
	}
	answer := userMsg("Bob")
	answer.TaskId = asked.GetId()
	if done := sendTask(t, f.srv, ctx, answer, nil); state(done) != a2apb.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("answer = %v", done)
	}
	var rest []*a2apb.StreamResponse
	for {
		ev, err, ok := next()
		if !ok {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		rest = append(rest, ev)
	}
	if got := kinds(rest); got != "message artifact:greeting! status:COMPLETED" {
		t.Fatalf("after the answer = %s", got)
	}
}

func TestServer_ResubscribeAfterDisconnect(t *testing.T) {
	f := newServer(t, nil)
	f.exec.gate = make(chan struct{})
	ctx := ctxT(t)
	task := sendTask(t, f.srv, ctx, userMsg("stream"), &a2apb.SendMessageConfiguration{ReturnImmediately: true})

	// The first subscriber sees the task, then chunk 0, and goes away.
	subCtx, cancel := context.WithCancel(ctx)
	var first []*a2apb.StreamResponse
	for ev, err := range f.srv.SubscribeToTask(subCtx, &a2apb.SubscribeToTaskRequest{Id: task.GetId()}) {
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			break
		}
		first = append(first, ev)
		if len(first) == 1 {
			f.exec.gate <- struct{}{} // release chunk 0
		}
		if ev.GetArtifactUpdate() != nil {
			cancel()
		}
	}
	cancel()
	if k := kinds(first); !strings.HasPrefix(k, "task:") || !strings.HasSuffix(k, "artifact:out") {
		t.Fatalf("first subscriber = %s", k)
	}

	// Chunk 1 happens while nobody listens.
	f.exec.gate <- struct{}{}
	waitFor(t, func() bool {
		got, err := f.srv.GetTask(ctx, &a2apb.GetTaskRequest{Id: task.GetId()})
		return err == nil && len(got.GetArtifacts()) == 1 && len(got.GetArtifacts()[0].GetParts()) == 2
	})

	// The second subscriber gets the current state (both chunks), then the rest in order.
	var second []*a2apb.StreamResponse
	for ev, err := range f.srv.SubscribeToTask(ctx, &a2apb.SubscribeToTaskRequest{Id: task.GetId()}) {
		if err != nil {
			t.Fatal(err)
		}
		second = append(second, ev)
		if len(second) == 1 {
			if parts := ev.GetTask().GetArtifacts()[0].GetParts(); len(parts) != 2 || parts[1].GetText() != "chunk1" {
				t.Fatalf("snapshot artifacts = %v", ev.GetTask().GetArtifacts())
			}
			f.exec.gate <- struct{}{} // release chunk 2
		}
	}
	if kinds(second) != "task:WORKING artifact:out+! status:COMPLETED" {
		t.Fatalf("second subscriber = %s", kinds(second))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestServer_ManySubscribers(t *testing.T) {
	f := newServer(t, nil)
	f.exec.gate = make(chan struct{})
	ctx := ctxT(t)
	task := sendTask(t, f.srv, ctx, userMsg("stream"), &a2apb.SendMessageConfiguration{ReturnImmediately: true})
	const n = 8
	results := make(chan string, n)
	ready := make(chan struct{}, n)
	for range n {
		go func() {
			var evs []*a2apb.StreamResponse
			for ev, err := range f.srv.SubscribeToTask(ctx, &a2apb.SubscribeToTaskRequest{Id: task.GetId()}) {
				if err != nil {
					results <- err.Error()
					return
				}
				if len(evs) == 0 {
					ready <- struct{}{}
				}
				evs = append(evs, ev)
			}
			results <- kinds(evs[1:])
		}()
	}
	for range n {
		<-ready
	}
	for range 3 {
		f.exec.gate <- struct{}{}
	}
	for range n {
		if k := <-results; !strings.HasSuffix(k, "artifact:out artifact:out+ artifact:out+! status:COMPLETED") {
			t.Fatalf("subscriber saw %s", k)
		}
	}
}

func TestServer_PushConfigsNeedTheCapability(t *testing.T) {
	f := newServer(t, nil)
	ctx := ctxT(t)
	task := sendTask(t, f.srv, ctx, userMsg("ask"), nil)
	_, err := f.srv.CreateTaskPushNotificationConfig(ctx, &a2apb.TaskPushNotificationConfig{TaskId: task.GetId(), Url: "https://example.com/hook"})
	wantCode(t, "create", err, a2a.CodePushNotificationNotSupported)
	_, err = f.srv.GetTaskPushNotificationConfig(ctx, &a2apb.GetTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "x"})
	wantCode(t, "get", err, a2a.CodePushNotificationNotSupported)
	_, err = f.srv.ListTaskPushNotificationConfigs(ctx, &a2apb.ListTaskPushNotificationConfigsRequest{TaskId: task.GetId()})
	wantCode(t, "list", err, a2a.CodePushNotificationNotSupported)
	err = f.srv.DeleteTaskPushNotificationConfig(ctx, &a2apb.DeleteTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "x"})
	wantCode(t, "delete", err, a2a.CodePushNotificationNotSupported)
	_, err = f.srv.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("echo"), Configuration: &a2apb.SendMessageConfiguration{
		TaskPushNotificationConfig: &a2apb.TaskPushNotificationConfig{Url: "https://example.com/hook"}}})
	wantCode(t, "send with push config", err, a2a.CodePushNotificationNotSupported)
}

func TestServer_ExtendedCard(t *testing.T) {
	f := newServer(t, nil)
	_, err := f.srv.GetExtendedAgentCard(ctxT(t), &a2apb.GetExtendedAgentCardRequest{})
	wantCode(t, "no extended card", err, a2a.CodeExtendedAgentCardNotConfigured)
	ext := &a2apb.AgentCard{Name: "test", Description: "more"}
	f = newServer(t, func(c *a2a.ServerConfig) { c.ExtendedCard = ext })
	got, err := f.srv.GetExtendedAgentCard(ctxT(t), &a2apb.GetExtendedAgentCardRequest{})
	if err != nil || !proto.Equal(got, ext) {
		t.Fatalf("GetExtendedAgentCard = %v, %v", got, err)
	}
}

func TestServer_CloseFailsRunningTasks(t *testing.T) {
	store := a2a.NewMemoryTaskStore()
	srv := a2a.NewServer(a2a.ServerConfig{Executor: &testExec{}, Store: store})
	ctx := ctxT(t)
	task := sendTask(t, srv, ctx, userMsg("slow"), &a2apb.SendMessageConfiguration{ReturnImmediately: true})
	waitFor(t, func() bool {
		st, err := store.GetTask(ctx, task.GetId())
		return err == nil && state(st.Task) == a2apb.TaskState_TASK_STATE_WORKING
	})
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := store.GetTask(ctx, task.GetId())
	if err != nil || state(st.Task) != a2apb.TaskState_TASK_STATE_FAILED || st.Task.GetStatus().GetMessage().GetParts()[0].GetText() != "server shut down" {
		t.Fatalf("after Close: %v, %v", st, err)
	}
}

func TestServer_StreamingNeedsTheCapability(t *testing.T) {
	f := newServer(t, func(c *a2a.ServerConfig) { c.Card.Capabilities.Streaming = proto.Bool(false) })
	ctx := ctxT(t)
	_, err := collect(f.srv.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("echo")}))
	wantCode(t, "stream", err, a2a.CodeUnsupportedOperation)
	task := sendTask(t, f.srv, ctx, userMsg("ask"), nil)
	_, err = collect(f.srv.SubscribeToTask(ctx, &a2apb.SubscribeToTaskRequest{Id: task.GetId()}))
	wantCode(t, "subscribe", err, a2a.CodeUnsupportedOperation)
}
