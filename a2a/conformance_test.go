package a2a

import (
	"context"
	"errors"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// The behaviours of the A2A v1.0 specification that every binding must show, run with the
// real Server behind JSON-RPC, HTTP+JSON and gRPC (and the v0.3 JSON-RPC layer where the
// behaviour exists in v0.3).

// askExecutor asks for input on "ask" (then completes with the answer), and records the
// extensions of each request; anything else completes at once.
type askExecutor struct {
	mu   sync.Mutex
	exts [][]string
}

func (e *askExecutor) Execute(ctx context.Context, rc *RequestContext, q *EventQueue) error {
	e.mu.Lock()
	e.exts = append(e.exts, rc.Extensions)
	e.mu.Unlock()
	if rc.Task == nil && text(rc.Message) == "ask" {
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_INPUT_REQUIRED, NewTextMessage(a2apb.Role_ROLE_AGENT, "who?"))
	}
	if len(rc.Extensions) > 0 {
		ActivateExtension(ctx, "urn:test:by-executor")
	}
	if err := q.Artifact(ctx, &a2apb.Artifact{ArtifactId: "a", Parts: []*a2apb.Part{textPart("hi " + text(rc.Message))}}); err != nil {
		return err
	}
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, nil)
}

func (e *askExecutor) Cancel(ctx context.Context, rc *RequestContext, q *EventQueue) error {
	return nil
}

// okPush accepts every config and delivers nothing.
type okPush struct{}

func (okPush) Check(context.Context, *a2apb.TaskPushNotificationConfig) error { return nil }
func (okPush) Send(context.Context, *a2apb.TaskPushNotificationConfig, *a2apb.StreamResponse) error {
	return nil
}

func conformanceServer(t *testing.T, mod func(*ServerConfig)) (*httptest2, *askExecutor) {
	t.Helper()
	exec := &askExecutor{}
	cfg := ServerConfig{Executor: exec, Push: okPush{}, Card: &a2apb.AgentCard{Name: "c",
		Capabilities: &a2apb.AgentCapabilities{Streaming: ptr(true), PushNotifications: ptr(true)}}}
	if mod != nil {
		mod(&cfg)
	}
	s := NewServer(cfg)
	t.Cleanup(func() { _ = s.Close() })
	srv, _ := serveBindings(t, s)
	return &httptest2{srv.URL, srv}, exec
}

func ptr[T any](v T) *T { return &v }

// httptest2 is a serveBindings server and a way to make clients of it.
type httptest2 struct {
	url string
	srv *httptest.Server
}

// client is a Client of the server over mode, closed when the test ends.
func (h *httptest2) client(t *testing.T, mode clientMode, opts ...ClientOption) *Client {
	t.Helper()
	c, err := NewClient(mode.endpoint(h.srv), mode.binding, append([]ClientOption{WithProtocolVersion(mode.version)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// firstOf drains seq: the events before the first error, and that error.
func firstOf(seq iter.Seq2[*a2apb.StreamResponse, error]) (int, error) {
	n := 0
	for ev, err := range seq {
		if err != nil {
			return n, err
		}
		if ev != nil {
			n++
		}
	}
	return n, nil
}

// TestConformance_ErrorsBeforeTheFirstEventAreNotStreams: task not found, task terminal,
// streaming off and invalid params are plain errors on every binding (no event first).
func TestConformance_ErrorsBeforeTheFirstEventAreNotStreams(t *testing.T) {
	on, _ := conformanceServer(t, nil)
	off, _ := conformanceServer(t, func(c *ServerConfig) { c.Card.Capabilities.Streaming = nil })
	ctx := context.Background()
	for _, mode := range clientModes {
		t.Run(mode.name, func(t *testing.T) {
			c := on.client(t, mode)
			done, err := c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("x")})
			if err != nil {
				t.Fatal(err)
			}
			cases := []struct {
				name string
				seq  iter.Seq2[*a2apb.StreamResponse, error]
				code int
			}{
				{"subscribe unknown", c.SubscribeToTask(ctx, &a2apb.SubscribeToTaskRequest{Id: "nope"}), CodeTaskNotFound},
				{"subscribe terminal", c.SubscribeToTask(ctx, &a2apb.SubscribeToTaskRequest{Id: done.GetTask().GetId()}), CodeUnsupportedOperation},
				{"stream invalid params", c.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: &a2apb.Message{MessageId: "m", Role: a2apb.Role_ROLE_USER}}), CodeInvalidParams},
				{"streaming not on the card", off.client(t, mode).SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("x")}), CodeUnsupportedOperation},
			}
			for _, tc := range cases {
				n, err := firstOf(tc.seq)
				if n != 0 || errCode(err) != tc.code {
					t.Fatalf("%s: %d events then %v, want code %d and no event", tc.name, n, err, tc.code)
				}
			}
		})
	}

	// On the wire: the HTTP bindings answer with the binding's error, not an event stream.
	post := func(path, body string, hdr ...string) *http.Response {
		req, _ := http.NewRequest("POST", on.url+path, strings.NewReader(body))
		req.Header.Set(VersionHeader, "1.0")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := post("/rpc", `{"jsonrpc":"2.0","id":1,"method":"SubscribeToTask","params":{"id":"nope"}}`); r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("JSON-RPC subscribe unknown: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r := post("/rest/tasks/nope:subscribe", ``); r.StatusCode != http.StatusNotFound || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("REST subscribe unknown: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	if r := post("/rest/message:stream", `{"message":{"messageId":"m","role":"ROLE_USER"}}`); r.StatusCode != http.StatusBadRequest || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("REST stream invalid: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
}

// TestConformance_SubscribeUntilTerminal: a subscription opened on an input-required task stays
// open through the answer's run and ends at completed, on every binding.
func TestConformance_SubscribeUntilTerminal(t *testing.T) {
	srv, _ := conformanceServer(t, nil)
	ctx := context.Background()
	for _, mode := range clientModes {
		t.Run(mode.name, func(t *testing.T) {
			c := srv.client(t, mode)
			res, err := c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("ask")})
			if err != nil || res.GetTask().GetStatus().GetState() != a2apb.TaskState_TASK_STATE_INPUT_REQUIRED {
				t.Fatalf("ask = %v, %v", res, err)
			}
			id := res.GetTask().GetId()
			next, stop := iter.Pull2(c.SubscribeToTask(ctx, &a2apb.SubscribeToTaskRequest{Id: id}))
			defer stop()
			if ev, err, _ := next(); err != nil || ev.GetTask().GetStatus().GetState() != a2apb.TaskState_TASK_STATE_INPUT_REQUIRED {
				t.Fatalf("first event = %v, %v", ev, err)
			}
			answer := userMsg("Bob")
			answer.TaskId = id
			if _, err := c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: answer}); err != nil {
				t.Fatal(err)
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
				t.Fatalf("last event = %v", last)
			}
		})
	}
}

// TestConformance_PushConfigDeleteIsIdempotent: a second delete of a config succeeds; get with
// the task id alone (v0.3's optional config id) returns its config.
func TestConformance_PushConfigDeleteIsIdempotent(t *testing.T) {
	srv, _ := conformanceServer(t, nil)
	ctx := context.Background()
	for _, mode := range clientModes {
		t.Run(mode.name, func(t *testing.T) {
			c := srv.client(t, mode)
			res, err := c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("ask")})
			if err != nil {
				t.Fatal(err)
			}
			id := res.GetTask().GetId()
			if _, err := c.CreateTaskPushNotificationConfig(ctx, &a2apb.TaskPushNotificationConfig{TaskId: id, Id: "p1", Url: "https://hook.example/x"}); err != nil {
				t.Fatal(err)
			}
			if mode.version == ProtocolVersion03 {
				got, err := c.GetTaskPushNotificationConfig(ctx, &a2apb.GetTaskPushNotificationConfigRequest{TaskId: id})
				if err != nil || got.GetId() != "p1" {
					t.Fatalf("get by task id = %v, %v", got, err)
				}
			}
			for i := range 2 {
				if err := c.DeleteTaskPushNotificationConfig(ctx, &a2apb.DeleteTaskPushNotificationConfigRequest{TaskId: id, Id: "p1"}); err != nil {
					t.Fatalf("delete #%d = %v", i+1, err)
				}
			}
			err = c.DeleteTaskPushNotificationConfig(ctx, &a2apb.DeleteTaskPushNotificationConfigRequest{TaskId: "nope", Id: "p1"})
			if !errors.Is(err, ErrTaskNotFound) {
				t.Fatalf("delete on an unknown task = %v", err)
			}
		})
	}
}

// TestConformance_Extensions: a request without an extension the card requires is refused
// with ExtensionSupportRequired; one that asks for it reaches the executor with its
// extensions, and the activated ones come back in A2A-Extensions (gRPC: a2a-extensions).
func TestConformance_Extensions(t *testing.T) {
	srv, exec := conformanceServer(t, func(c *ServerConfig) {
		c.Card.Capabilities.Extensions = []*a2apb.AgentExtension{{Uri: "urn:test:required", Required: true}, {Uri: "urn:test:optional"}}
	})
	ctx := context.Background()
	for _, mode := range clientModes {
		t.Run(mode.name, func(t *testing.T) {
			_, err := srv.client(t, mode).SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("x")})
			if errCode(err) != CodeExtensionSupportRequired {
				t.Fatalf("without the required extension: %v", err)
			}
			_, err = srv.client(t, mode).GetTask(ctx, &a2apb.GetTaskRequest{Id: "nope"})
			if errCode(err) != CodeExtensionSupportRequired {
				t.Fatalf("GetTask without the required extension: %v", err)
			}
			c := srv.client(t, mode, WithExtensions("urn:test:required", "urn:test:other"))
			cctx, echoed := CaptureExtensions(ctx)
			if _, err := c.SendMessage(cctx, &a2apb.SendMessageRequest{Message: userMsg("x")}); err != nil {
				t.Fatal(err)
			}
			exec.mu.Lock()
			got := exec.exts[len(exec.exts)-1]
			exec.mu.Unlock()
			if strings.Join(got, ",") != "urn:test:required,urn:test:other" {
				t.Fatalf("executor saw extensions %v", got)
			}
			// The client hands the caller what the agent echoed: the card's extension it
			// activated and the executor's, not the one nobody applied.
			if strings.Join(echoed.URIs(), ",") != "urn:test:required,urn:test:by-executor" || echoed.Has("urn:test:other") {
				t.Fatalf("echoed extensions = %v", echoed.URIs())
			}
			sctx, streamEchoed := CaptureExtensions(ctx)
			for _, err := range c.SendStreamingMessage(sctx, &a2apb.SendMessageRequest{Message: userMsg("x")}) {
				if err != nil {
					t.Fatal(err)
				}
			}
			if !streamEchoed.Has("urn:test:required") {
				t.Fatalf("echoed extensions of a stream = %v", streamEchoed.URIs())
			}
		})
	}

	// The echo on the wire.
	send := `{"message":{"messageId":"m","role":"ROLE_USER","parts":[{"text":"x"}]}}`
	for _, tc := range []struct{ path, body string }{
		{"/rpc", `{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":` + send + `}`},
		{"/rest/message:send", send},
		{"/rest/message:stream", send},
	} {
		req, _ := http.NewRequest("POST", srv.url+tc.path, strings.NewReader(tc.body))
		req.Header.Set(VersionHeader, "1.0")
		req.Header.Set(ExtensionsHeader, "urn:test:required, urn:test:optional")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get(ExtensionsHeader); resp.StatusCode != 200 || got != "urn:test:required, urn:test:optional, urn:test:by-executor" {
			t.Fatalf("%s: %d, A2A-Extensions = %q", tc.path, resp.StatusCode, got)
		}
	}
	conn, err := grpc.NewClient(strings.TrimPrefix(clientMode{binding: BindingGRPC}.endpoint(srv.srv), "grpc://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var hdr metadata.MD
	gctx := metadata.AppendToOutgoingContext(ctx, "a2a-extensions", "urn:test:required")
	if _, err := a2apb.NewA2AServiceClient(conn).SendMessage(gctx, &a2apb.SendMessageRequest{Message: userMsg("x")}, grpc.Header(&hdr)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(hdr.Get("a2a-extensions"), ","); got != "urn:test:required, urn:test:by-executor" {
		t.Fatalf("gRPC a2a-extensions = %q", got)
	}
}

// errCode is the A2A code of err, 0 when it is not an *Error.
func errCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}
