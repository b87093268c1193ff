package a2a

import (
	"context"
	"errors"
	"fmt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"iter"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// fakeHandler is a Handler for binding tests: tasks in a map, fixed stream scripts. A message
// whose text is
//
//	"hello-msg"  is answered with a message, not a task;
//	"wait"       leaves its task working (so it can be canceled or subscribed to);
//	"panic"      panics;
//	"boom"       fails with a plain (internal) error;
//	"fail-mid"   streams a task, then fails with UnsupportedOperation;
//
// anything else completes its task with an artifact "echo: <text>".
type fakeHandler struct {
	mu      sync.Mutex
	n       int
	tasks   map[string]*a2apb.Task
	push    map[string]*a2apb.TaskPushNotificationConfig
	tenants []string
	card    *a2apb.AgentCard
}

func newFakeHandler() *fakeHandler {
	return &fakeHandler{
		tasks: map[string]*a2apb.Task{},
		push:  map[string]*a2apb.TaskPushNotificationConfig{},
		card: &a2apb.AgentCard{Name: "extended", Description: "the extended card", Version: "1.0.0",
			SupportedInterfaces: []*a2apb.AgentInterface{{Url: "http://x/rpc", ProtocolBinding: BindingJSONRPC, ProtocolVersion: "1.0"}},
			Capabilities:        &a2apb.AgentCapabilities{}},
	}
}

func (f *fakeHandler) sawTenant(t string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tenants = append(f.tenants, t)
}

func text(m *a2apb.Message) string {
	var b strings.Builder
	for _, p := range m.GetParts() {
		b.WriteString(p.GetText())
	}
	return b.String()
}

func textPart(s string) *a2apb.Part { return &a2apb.Part{Content: &a2apb.Part_Text{Text: s}} }

func (f *fakeHandler) newTask(m *a2apb.Message, state a2apb.TaskState) *a2apb.Task {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	t := &a2apb.Task{
		Id: fmt.Sprintf("task-%d", f.n), ContextId: "ctx-1",
		Status:  &a2apb.TaskStatus{State: state},
		History: []*a2apb.Message{m},
	}
	if state == a2apb.TaskState_TASK_STATE_COMPLETED {
		t.Artifacts = []*a2apb.Artifact{{ArtifactId: "a1", Parts: []*a2apb.Part{textPart("echo: " + text(m))}}}
	}
	f.tasks[t.Id] = t
	return proto.Clone(t).(*a2apb.Task)
}

func (f *fakeHandler) SendMessage(ctx context.Context, req *a2apb.SendMessageRequest) (*a2apb.SendMessageResponse, error) {
	f.sawTenant(req.GetTenant())
	switch text(req.GetMessage()) {
	case "hello-msg":
		return &a2apb.SendMessageResponse{Payload: &a2apb.SendMessageResponse_Message{Message: &a2apb.Message{
			MessageId: "m-reply", ContextId: "ctx-1", Role: a2apb.Role_ROLE_AGENT, Parts: []*a2apb.Part{textPart("hello")},
		}}}, nil
	case "panic":
		panic("fake handler panic")
	case "boom":
		return nil, errors.New("database on fire")
	case "wait":
		return &a2apb.SendMessageResponse{Payload: &a2apb.SendMessageResponse_Task{Task: f.newTask(req.GetMessage(), a2apb.TaskState_TASK_STATE_WORKING)}}, nil
	}
	return &a2apb.SendMessageResponse{Payload: &a2apb.SendMessageResponse_Task{Task: f.newTask(req.GetMessage(), a2apb.TaskState_TASK_STATE_COMPLETED)}}, nil
}

func statusEv(t *a2apb.Task, s a2apb.TaskState) *a2apb.StreamResponse {
	return &a2apb.StreamResponse{Payload: &a2apb.StreamResponse_StatusUpdate{StatusUpdate: &a2apb.TaskStatusUpdateEvent{
		TaskId: t.GetId(), ContextId: t.GetContextId(), Status: &a2apb.TaskStatus{State: s},
	}}}
}

func (f *fakeHandler) SendStreamingMessage(ctx context.Context, req *a2apb.SendMessageRequest) iter.Seq2[*a2apb.StreamResponse, error] {
	return func(yield func(*a2apb.StreamResponse, error) bool) {
		f.sawTenant(req.GetTenant())
		msg := req.GetMessage()
		if text(msg) == "panic" {
			panic("fake stream panic")
		}
		t := f.newTask(msg, a2apb.TaskState_TASK_STATE_SUBMITTED)
		if !yield(&a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Task{Task: t}}, nil) {
			return
		}
		if text(msg) == "fail-mid" {
			yield(nil, ErrUnsupportedOperation)
			return
		}
		if !yield(statusEv(t, a2apb.TaskState_TASK_STATE_WORKING), nil) {
			return
		}
		if !yield(&a2apb.StreamResponse{Payload: &a2apb.StreamResponse_ArtifactUpdate{ArtifactUpdate: &a2apb.TaskArtifactUpdateEvent{
			TaskId: t.GetId(), ContextId: t.GetContextId(), LastChunk: true,
			Artifact: &a2apb.Artifact{ArtifactId: "a1", Parts: []*a2apb.Part{textPart("echo: " + text(msg))}},
		}}}, nil) {
			return
		}
		f.mu.Lock()
		f.tasks[t.GetId()].Status.State = a2apb.TaskState_TASK_STATE_COMPLETED
		f.mu.Unlock()
		yield(statusEv(t, a2apb.TaskState_TASK_STATE_COMPLETED), nil)
	}
}

func (f *fakeHandler) get(id string) (*a2apb.Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[id]
	if !ok {
		return nil, ErrTaskNotFound
	}
	return proto.Clone(t).(*a2apb.Task), nil
}

func (f *fakeHandler) GetTask(ctx context.Context, req *a2apb.GetTaskRequest) (*a2apb.Task, error) {
	f.sawTenant(req.GetTenant())
	return f.get(req.GetId())
}

func (f *fakeHandler) ListTasks(ctx context.Context, req *a2apb.ListTasksRequest) (*a2apb.ListTasksResponse, error) {
	f.sawTenant(req.GetTenant())
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &a2apb.ListTasksResponse{}
	for _, t := range f.tasks {
		if req.GetContextId() != "" && t.GetContextId() != req.GetContextId() {
			continue
		}
		if req.GetStatus() != a2apb.TaskState_TASK_STATE_UNSPECIFIED && t.GetStatus().GetState() != req.GetStatus() {
			continue
		}
		out.Tasks = append(out.Tasks, proto.Clone(t).(*a2apb.Task))
	}
	sort.Slice(out.Tasks, func(i, j int) bool { return out.Tasks[i].GetId() < out.Tasks[j].GetId() })
	out.TotalSize, out.PageSize = int32(len(out.Tasks)), req.GetPageSize()
	return out, nil
}

func (f *fakeHandler) CancelTask(ctx context.Context, req *a2apb.CancelTaskRequest) (*a2apb.Task, error) {
	f.sawTenant(req.GetTenant())
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[req.GetId()]
	if !ok {
		return nil, ErrTaskNotFound
	}
	if t.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_WORKING {
		return nil, ErrTaskNotCancelable
	}
	t.Status.State = a2apb.TaskState_TASK_STATE_CANCELED
	return proto.Clone(t).(*a2apb.Task), nil
}

func (f *fakeHandler) SubscribeToTask(ctx context.Context, req *a2apb.SubscribeToTaskRequest) iter.Seq2[*a2apb.StreamResponse, error] {
	return func(yield func(*a2apb.StreamResponse, error) bool) {
		t, err := f.get(req.GetId())
		if err != nil {
			yield(nil, err)
			return
		}
		if !yield(&a2apb.StreamResponse{Payload: &a2apb.StreamResponse_Task{Task: t}}, nil) {
			return
		}
		yield(statusEv(t, a2apb.TaskState_TASK_STATE_INPUT_REQUIRED), nil)
	}
}

func (f *fakeHandler) CreateTaskPushNotificationConfig(ctx context.Context, req *a2apb.TaskPushNotificationConfig) (*a2apb.TaskPushNotificationConfig, error) {
	if _, err := f.get(req.GetTaskId()); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c := proto.Clone(req).(*a2apb.TaskPushNotificationConfig)
	if c.Id == "" {
		c.Id = fmt.Sprintf("cfg-%d", len(f.push)+1)
	}
	f.push[c.TaskId+"/"+c.Id] = c
	return proto.Clone(c).(*a2apb.TaskPushNotificationConfig), nil
}

func (f *fakeHandler) GetTaskPushNotificationConfig(ctx context.Context, req *a2apb.GetTaskPushNotificationConfigRequest) (*a2apb.TaskPushNotificationConfig, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.push[req.GetTaskId()+"/"+req.GetId()]
	if !ok {
		return nil, ErrTaskNotFound
	}
	return proto.Clone(c).(*a2apb.TaskPushNotificationConfig), nil
}

func (f *fakeHandler) ListTaskPushNotificationConfigs(ctx context.Context, req *a2apb.ListTaskPushNotificationConfigsRequest) (*a2apb.ListTaskPushNotificationConfigsResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &a2apb.ListTaskPushNotificationConfigsResponse{}
	for k, c := range f.push {
		if strings.HasPrefix(k, req.GetTaskId()+"/") {
			out.Configs = append(out.Configs, proto.Clone(c).(*a2apb.TaskPushNotificationConfig))
		}
	}
	sort.Slice(out.Configs, func(i, j int) bool { return out.Configs[i].GetId() < out.Configs[j].GetId() })
	return out, nil
}

func (f *fakeHandler) DeleteTaskPushNotificationConfig(ctx context.Context, req *a2apb.DeleteTaskPushNotificationConfigRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := req.GetTaskId() + "/" + req.GetId()
	if _, ok := f.push[k]; !ok {
		return ErrTaskNotFound
	}
	delete(f.push, k)
	return nil
}

func (f *fakeHandler) GetExtendedAgentCard(ctx context.Context, req *a2apb.GetExtendedAgentCardRequest) (*a2apb.AgentCard, error) {
	if f.card == nil {
		return nil, ErrExtendedAgentCardNotConfigured
	}
	return proto.Clone(f.card).(*a2apb.AgentCard), nil
}

// headerLog records the headers of the requests a test server sees.
type headerLog struct {
	mu sync.Mutex
	h  []http.Header
}

func (l *headerLog) last() http.Header {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.h) == 0 {
		return http.Header{}
	}
	return l.h[len(l.h)-1]
}

// serveBindings serves h at /rpc (JSON-RPC), /rest (HTTP+JSON), and over gRPC on a listener of
// its own (clientMode.endpoint finds it). The header log sees the HTTP headers and the gRPC
// metadata of every request.
func serveBindings(t *testing.T, h Handler, opts ...BindingOption) (*httptest.Server, *headerLog) {
	t.Helper()
	log := &headerLog{}
	opts = append([]BindingOption{WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	mux := http.NewServeMux()
	mux.Handle("/rpc", NewJSONRPCHandler(h, opts...))
	mux.Handle("/rest/", http.StripPrefix("/rest", NewRESTHandler(h, opts...)))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.mu.Lock()
		log.h = append(log.h, r.Header.Clone())
		log.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	srv.Start()
	t.Cleanup(srv.Close)

	logMD := func(ctx context.Context) {
		md, _ := metadata.FromIncomingContext(ctx)
		hdr := http.Header{}
		for k, vs := range md {
			for _, v := range vs {
				hdr.Add(k, v)
			}
		}
		log.mu.Lock()
		log.h = append(log.h, hdr)
		log.mu.Unlock()
	}
	gs := NewGRPCServer(h, nil, []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			logMD(ctx)
			return next(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
			logMD(ss.Context())
			return next(srv, ss)
		}),
	}, opts...)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	grpcAddrs.Store(srv.URL, lis.Addr().String())
	return srv, log
}

// grpcAddrs maps a serveBindings server's URL to the address of its gRPC listener.
var grpcAddrs sync.Map

// clientMode is one way a Client can reach serveBindings.
type clientMode struct {
	name    string
	path    string
	binding string
	version string
}

// endpoint is the URL of the mode's binding on srv (a serveBindings server).
func (m clientMode) endpoint(srv *httptest.Server) string {
	if m.binding == BindingGRPC {
		addr, _ := grpcAddrs.Load(srv.URL)
		return "grpc://" + addr.(string)
	}
	return srv.URL + m.path
}

// clientModes are the ways a Client can reach serveBindings.
var clientModes = []clientMode{
	{"jsonrpc-1.0", "/rpc", BindingJSONRPC, ProtocolVersion},
	{"rest-1.0", "/rest", BindingHTTPJSON, ProtocolVersion},
	{"grpc-1.0", "", BindingGRPC, ProtocolVersion},
	{"jsonrpc-0.3", "/rpc", BindingJSONRPC, ProtocolVersion03},
	{"grpc-0.3", "", BindingGRPC, ProtocolVersion03},
}
