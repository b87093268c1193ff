package a2a

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

func userMsg(s string) *a2apb.Message {
	return &a2apb.Message{MessageId: "m-" + s, Role: a2apb.Role_ROLE_USER, Parts: []*a2apb.Part{textPart(s)}}
}

// streamKinds names the events of a stream: "task:STATE", "status:STATE", "artifact", "message".
func streamKinds(t *testing.T, seq func(func(*a2apb.StreamResponse, error) bool)) ([]string, error) {
	t.Helper()
	var kinds []string
	for ev, err := range seq {
		if err != nil {
			return kinds, err
		}
		switch p := ev.GetPayload().(type) {
		case *a2apb.StreamResponse_Task:
			kinds = append(kinds, "task:"+p.Task.GetStatus().GetState().String())
		case *a2apb.StreamResponse_StatusUpdate:
			kinds = append(kinds, "status:"+p.StatusUpdate.GetStatus().GetState().String())
		case *a2apb.StreamResponse_ArtifactUpdate:
			kinds = append(kinds, "artifact:"+p.ArtifactUpdate.GetArtifact().GetParts()[0].GetText())
		case *a2apb.StreamResponse_Message:
			kinds = append(kinds, "message")
		}
	}
	return kinds, nil
}

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *Error with code %d", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("error code = %d (%s), want %d", e.Code, e.Message, code)
	}
}

// TestClient_EveryMethodOverEveryBinding round-trips each Handler method through a Client and a
// binding: JSON-RPC 1.0, HTTP+JSON 1.0 and JSON-RPC 0.3 (the compatibility layer both ways).
func TestClient_EveryMethodOverEveryBinding(t *testing.T) {
	for _, mode := range clientModes {
		t.Run(mode.name, func(t *testing.T) {
			fake := newFakeHandler()
			srv, headers := serveBindings(t, fake)
			c, err := NewClient(mode.endpoint(srv), mode.binding, WithProtocolVersion(mode.version),
				WithAuth(func(ctx context.Context, h http.Header) error { h.Set("Authorization", "Bearer t0k"); return nil }))
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()

			// SendMessage: a task, then a message.
			res, err := c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("hi")})
			if err != nil {
				t.Fatal(err)
			}
			task := res.GetTask()
			if task.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED || task.GetArtifacts()[0].GetParts()[0].GetText() != "echo: hi" {
				t.Fatalf("SendMessage task = %v", task)
			}
			if got := task.GetHistory()[0].GetRole(); got != a2apb.Role_ROLE_USER {
				t.Fatalf("history role = %v", got)
			}
			if h := headers.last(); h.Get("Authorization") != "Bearer t0k" || h.Get(VersionHeader) != mode.version {
				t.Fatalf("headers = %v", h)
			}
			res, err = c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("hello-msg")})
			if err != nil || res.GetMessage().GetParts()[0].GetText() != "hello" || res.GetMessage().GetRole() != a2apb.Role_ROLE_AGENT {
				t.Fatalf("SendMessage message = %v, %v", res, err)
			}

			// SendStreamingMessage: events in order.
			kinds, err := streamKinds(t, c.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("yo")}))
			want := []string{"task:TASK_STATE_SUBMITTED", "status:TASK_STATE_WORKING", "artifact:echo: yo", "status:TASK_STATE_COMPLETED"}
			if err != nil || !slices.Equal(kinds, want) {
				t.Fatalf("stream = %v, %v; want %v", kinds, err, want)
			}
			kinds, err = streamKinds(t, c.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("fail-mid")}))
			if len(kinds) != 1 {
				t.Fatalf("stream before error = %v", kinds)
			}
			wantCode(t, err, CodeUnsupportedOperation)

			// GetTask.
			got, err := c.GetTask(ctx, &a2apb.GetTaskRequest{Id: task.GetId()})
			if err != nil || got.GetId() != task.GetId() || got.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED {
				t.Fatalf("GetTask = %v, %v", got, err)
			}
			_, err = c.GetTask(ctx, &a2apb.GetTaskRequest{Id: "nope"})
			if !errors.Is(err, ErrTaskNotFound) {
				t.Fatalf("GetTask(nope) = %v", err)
			}

			// ListTasks: not in v0.3.
			list, err := c.ListTasks(ctx, &a2apb.ListTasksRequest{ContextId: "ctx-1", Status: a2apb.TaskState_TASK_STATE_COMPLETED})
			if mode.version == ProtocolVersion03 {
				wantCode(t, err, CodeUnsupportedOperation)
			} else if err != nil || len(list.GetTasks()) != 2 || list.GetTotalSize() != 2 {
				t.Fatalf("ListTasks = %v, %v", list, err)
			}

			// CancelTask and SubscribeToTask on a working task.
			res, err = c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("wait")})
			if err != nil {
				t.Fatal(err)
			}
			waiting := res.GetTask().GetId()
			kinds, err = streamKinds(t, c.SubscribeToTask(ctx, &a2apb.SubscribeToTaskRequest{Id: waiting}))
			if err != nil || !slices.Equal(kinds, []string{"task:TASK_STATE_WORKING", "status:TASK_STATE_INPUT_REQUIRED"}) {
				t.Fatalf("SubscribeToTask = %v, %v", kinds, err)
			}
			_, err = streamKinds(t, c.SubscribeToTask(ctx, &a2apb.SubscribeToTaskRequest{Id: "nope"}))
			if !errors.Is(err, ErrTaskNotFound) {
				t.Fatalf("SubscribeToTask(nope) = %v", err)
			}
			canceled, err := c.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: waiting})
			if err != nil || canceled.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_CANCELED {
				t.Fatalf("CancelTask = %v, %v", canceled, err)
			}
			_, err = c.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: waiting})
			if !errors.Is(err, ErrTaskNotCancelable) {
				t.Fatalf("CancelTask again = %v", err)
			}

			// Push notification configs.
			cfg, err := c.CreateTaskPushNotificationConfig(ctx, &a2apb.TaskPushNotificationConfig{
				TaskId: task.GetId(), Id: "c1", Url: "https://hook.example/a", Token: "tk",
				Authentication: &a2apb.AuthenticationInfo{Scheme: "Bearer", Credentials: "secret"},
			})
			if err != nil || cfg.GetId() != "c1" || cfg.GetUrl() != "https://hook.example/a" || cfg.GetAuthentication().GetScheme() != "Bearer" {
				t.Fatalf("Create push = %v, %v", cfg, err)
			}
			cfg, err = c.GetTaskPushNotificationConfig(ctx, &a2apb.GetTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "c1"})
			if err != nil || cfg.GetToken() != "tk" || cfg.GetTaskId() != task.GetId() {
				t.Fatalf("Get push = %v, %v", cfg, err)
			}
			cfgs, err := c.ListTaskPushNotificationConfigs(ctx, &a2apb.ListTaskPushNotificationConfigsRequest{TaskId: task.GetId()})
			if err != nil || len(cfgs.GetConfigs()) != 1 {
				t.Fatalf("List push = %v, %v", cfgs, err)
			}
			if err := c.DeleteTaskPushNotificationConfig(ctx, &a2apb.DeleteTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "c1"}); err != nil {
				t.Fatalf("Delete push = %v", err)
			}
			err = c.DeleteTaskPushNotificationConfig(ctx, &a2apb.DeleteTaskPushNotificationConfigRequest{TaskId: task.GetId(), Id: "c1"})
			if !errors.Is(err, ErrTaskNotFound) {
				t.Fatalf("Delete push again = %v", err)
			}

			// GetExtendedAgentCard.
			card, err := c.GetExtendedAgentCard(ctx, &a2apb.GetExtendedAgentCardRequest{})
			if err != nil || card.GetName() != "extended" {
				t.Fatalf("GetExtendedAgentCard = %v, %v", card, err)
			}
			fake.card = nil
			_, err = c.GetExtendedAgentCard(ctx, nil)
			wantCode(t, err, CodeExtendedAgentCardNotConfigured)

			// Internal errors and panics: -32603 without the cause.
			_, err = c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("boom")})
			wantCode(t, err, CodeInternalError)
			if e := err.(*Error); e.Message != "internal error" {
				t.Fatalf("internal error leaks %q", e.Message)
			}
			_, err = c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("panic")})
			wantCode(t, err, CodeInternalError)
			_, err = streamKinds(t, c.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("panic")}))
			wantCode(t, err, CodeInternalError)

			// Bad params are caught before the handler.
			_, err = c.GetTask(ctx, &a2apb.GetTaskRequest{})
			wantCode(t, err, CodeInvalidParams)
		})
	}
}

// TestClient_FromCardPicksFirstSupportedInterface checks interface selection and the tenant.
func TestClient_FromCardPicksFirstSupportedInterface(t *testing.T) {
	fake := newFakeHandler()
	srv, headers := serveBindings(t, fake)
	card := &a2apb.AgentCard{Name: "a", SupportedInterfaces: []*a2apb.AgentInterface{
		{Url: srv.URL + "/rest", ProtocolBinding: "HTTP+JSON", ProtocolVersion: "0.3"}, // v0.3 REST: not spoken by the client
		{Url: srv.URL + "/rest", ProtocolBinding: "http+json", ProtocolVersion: "2.0"},
		{Url: srv.URL + "/rest", ProtocolBinding: "HTTP+JSON", ProtocolVersion: "1.0", Tenant: "acme"},
		{Url: srv.URL + "/rpc", ProtocolBinding: BindingJSONRPC, ProtocolVersion: "1.0"},
	}}
	c, err := NewClientFromCard(card)
	if err != nil {
		t.Fatal(err)
	}
	if c.binding != BindingHTTPJSON || c.tenant != "acme" {
		t.Fatalf("client = %+v", c)
	}
	ctx := context.Background()
	req := &a2apb.SendMessageRequest{Message: userMsg("hi")}
	res, err := c.SendMessage(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if req.GetTenant() != "" {
		t.Fatal("client changed the caller's request")
	}
	if _, err := c.GetTask(ctx, &a2apb.GetTaskRequest{Id: res.GetTask().GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListTasks(ctx, &a2apb.ListTasksRequest{}); err != nil {
		t.Fatal(err)
	}
	fake.mu.Lock()
	tenants := append([]string(nil), fake.tenants...)
	fake.mu.Unlock()
	if !slices.Equal(tenants, []string{"acme", "acme", "acme"}) {
		t.Fatalf("tenants = %v", tenants)
	}
	_ = headers

	// A v0.3 card (as ParseAgentCard reads it) makes a v0.3 JSON-RPC client.
	v03, err := ParseAgentCard([]byte(`{"name":"old","description":"d","url":"` + srv.URL + `/rpc","protocolVersion":"0.3.0",
		"preferredTransport":"JSONRPC","version":"1","capabilities":{"streaming":true},"defaultInputModes":["text/plain"],
		"defaultOutputModes":["text/plain"],"skills":[{"id":"s","name":"S","description":"d","tags":["t"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c03, err := NewClientFromCard(v03)
	if err != nil || c03.version != ProtocolVersion03 || c03.binding != BindingJSONRPC {
		t.Fatalf("v0.3 client = %+v, %v", c03, err)
	}
	if _, err := c03.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("hi")}); err != nil {
		t.Fatal(err)
	}
	if h := headers.last(); h.Get(VersionHeader) != "0.3" {
		t.Fatalf("v0.3 client sent A2A-Version %q", h.Get(VersionHeader))
	}

	if _, err := NewClientFromCard(&a2apb.AgentCard{SupportedInterfaces: []*a2apb.AgentInterface{{Url: "https://x.example/", ProtocolBinding: BindingHTTPJSON, ProtocolVersion: "0.3"}}}); err == nil {
		t.Fatal("card with only a v0.3 HTTP+JSON interface accepted")
	}
	if c, err := NewClientFromCard(&a2apb.AgentCard{SupportedInterfaces: []*a2apb.AgentInterface{{Url: "grpc://x:1", ProtocolBinding: BindingGRPC, ProtocolVersion: "0.3"}}}); err != nil ||
		c.binding != BindingGRPC || c.version != ProtocolVersion03 {
		t.Fatalf("card with a v0.3 gRPC interface: %+v, %v", c, err)
	} else {
		_ = c.Close()
	}
	// A card that prefers gRPC (lists it first) gets a gRPC client.
	grpcMode := clientMode{binding: BindingGRPC}
	cg, err := NewClientFromCard(&a2apb.AgentCard{SupportedInterfaces: []*a2apb.AgentInterface{
		{Url: grpcMode.endpoint(srv), ProtocolBinding: BindingGRPC, ProtocolVersion: "1.0"},
		{Url: srv.URL + "/rpc", ProtocolBinding: BindingJSONRPC, ProtocolVersion: "1.0"},
	}})
	if err != nil || cg.binding != BindingGRPC {
		t.Fatalf("gRPC-first card: %+v, %v", cg, err)
	}
	defer cg.Close()
	if _, err := cg.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("hi")}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(srv.URL, BindingHTTPJSON, WithProtocolVersion("0.3")); err == nil {
		t.Fatal("HTTP+JSON 0.3 accepted")
	}
}
