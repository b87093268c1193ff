package a2a

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	a2ago "github.com/a2aproject/a2a-go/a2a"
	"github.com/a2aproject/a2a-go/a2agrpc"
	"github.com/a2aproject/a2a-go/a2asrv"
	"github.com/a2aproject/a2a-go/a2asrv/eventqueue"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// The interop tests run the reference Go SDK, a2a-go v0.3.3, against this package in both
// directions. Its client runs as a separate program, internal/a2ago03client, so that it meets
// our server only over the network; its server side runs in-process.

var (
	a2agoClientOnce sync.Once
	a2agoClientBin  string
	a2agoClientErr  error
)

// buildA2AGoClient builds internal/a2ago03client once per test run.
func buildA2AGoClient(t *testing.T) string {
	t.Helper()
	a2agoClientOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			a2agoClientErr = err
			return
		}
		dir, err := os.MkdirTemp("", "a2ago03client")
		if err != nil {
			a2agoClientErr = err
			return
		}
		bin := filepath.Join(dir, "a2ago03client")
		out, err := exec.Command(goBin, "build", "-o", bin, "./internal/a2ago03client").CombinedOutput()
		if err != nil {
			a2agoClientErr = errors.New(string(out))
			return
		}
		a2agoClientBin = bin
	})
	if a2agoClientErr != nil {
		if _, err := exec.LookPath("go"); err != nil {
			t.Skip("no go command to build the a2a-go client:", err)
		}
		t.Fatalf("building the a2a-go client: %v", a2agoClientErr)
	}
	return a2agoClientBin
}

// a2agoReport mirrors the report of internal/a2ago03client.
type a2agoReport struct {
	CardURL     string   `json:"cardUrl"`
	Transport   string   `json:"transport"`
	Interfaces  []string `json:"interfaces"`
	SendKind    string   `json:"sendKind"`
	SendState   string   `json:"sendState"`
	SendText    string   `json:"sendText"`
	Stream      []string `json:"stream"`
	GetState    string   `json:"getState"`
	GetID       string   `json:"getId"`
	CancelState string   `json:"cancelState"`
	NotFound    bool     `json:"notFound"`
	NotCancel   bool     `json:"notCancelable"`
	Push        []string `json:"push"`
	Resubscribe []string `json:"resubscribe"`
	Errors      []string `json:"errors"`
}

// serveForA2AGo serves h over JSON-RPC at /rpc with a card whose interface says v0.3.
func serveForA2AGo(t *testing.T, h Handler) *httptest.Server {
	t.Helper()
	// The card names the server's URL, known once it listens.
	var card atomic.Pointer[http.Handler]
	mux := http.NewServeMux()
	mux.Handle("/rpc", NewJSONRPCHandler(h, WithLogger(slog.New(slog.DiscardHandler))))
	mux.Handle("/.well-known/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*card.Load()).ServeHTTP(w, r) }))
	srv := httptest.NewUnstartedServer(mux)
	srv.Start()
	t.Cleanup(srv.Close)
	c := testCard()
	c.SupportedInterfaces = []*a2apb.AgentInterface{{Url: srv.URL + "/rpc", ProtocolBinding: BindingJSONRPC, ProtocolVersion: "0.3"}}
	ch := CardHandler(c)
	card.Store(&ch)
	return srv
}

func runA2AGoClient(t *testing.T, baseURL string, args ...string) *a2agoReport {
	t.Helper()
	out, err := exec.Command(buildA2AGoClient(t), append([]string{baseURL}, args...)...).Output()
	if err != nil {
		t.Fatalf("a2a-go client: %v", err)
	}
	var r a2agoReport
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("a2a-go client report %q: %v", out, err)
	}
	if len(r.Errors) > 0 {
		t.Fatalf("a2a-go client errors: %v", r.Errors)
	}
	return &r
}

// TestInterop_A2AGoClientAgainstOurJSONRPC: the a2a-go v0.3.3 client, given our v0.3 card,
// sends, streams, gets and cancels through NewJSONRPCHandler without an A2A-Version header.
func TestInterop_A2AGoClientAgainstOurJSONRPC(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the a2a-go client")
	}
	srv := serveForA2AGo(t, newFakeHandler())
	r := runA2AGoClient(t, srv.URL)
	if r.CardURL != srv.URL+"/rpc" {
		t.Fatalf("card url = %q", r.CardURL)
	}
	checkA2AGoReport(t, r)
}

// checkA2AGoReport checks what the a2a-go client saw of newFakeHandler's agent.
func checkA2AGoReport(t *testing.T, r *a2agoReport) {
	t.Helper()
	if r.SendKind != "task" || r.SendState != "completed" || r.SendText != "echo: hi" {
		t.Fatalf("send = %+v", r)
	}
	want := []string{"task:submitted", "status-update:working:false", "artifact-update", "status-update:completed:true"}
	if !slices.Equal(r.Stream, want) {
		t.Fatalf("stream = %v, want %v", r.Stream, want)
	}
	if r.GetState != "completed" || r.GetID == "" {
		t.Fatalf("get = %+v", r)
	}
	if r.CancelState != "canceled" || !r.NotCancel || !r.NotFound {
		t.Fatalf("cancel/errors = %+v", r)
	}
	if want := []string{"task:working", "status-update:input-required:true"}; !slices.Equal(r.Resubscribe, want) {
		t.Fatalf("resubscribe = %v, want %v", r.Resubscribe, want)
	}
	if want := []string{"set:c1:https://hook.example/a2a", "get:https://hook.example/a2a", "list:1", "delete", "get-deleted:false"}; !slices.Equal(r.Push, want) {
		t.Fatalf("push configs = %v, want %v", r.Push, want)
	}
}

// TestInterop_A2AGoClientOutOfTheBox: an agent served the ordinary way — a v1.0 card listing
// JSON-RPC, HTTP+JSON and gRPC interfaces, NewHTTPHandler for the first two, NewGRPCServer for
// the third, no v0.3 interface declared — is used by the a2a-go v0.3.3 client over each v0.3
// transport it has: JSON-RPC and gRPC (it has no HTTP+JSON transport; TestREST03 covers those
// routes): send, stream, resubscribe, get, cancel, push notification configs and the errors. The card's v0.3
// fields list all three interfaces, JSON-RPC first.
func TestInterop_A2AGoClientOutOfTheBox(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the a2a-go client")
	}
	h := newFakeHandler()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var methods []string // the gRPC methods called, to see that the client used the v0.3 service
	record := func(m string) {
		mu.Lock()
		defer mu.Unlock()
		if !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	gs := NewGRPCServer(h, nil, []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			record(info.FullMethod)
			return next(ctx, req)
		}),
		grpc.ChainStreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
			record(info.FullMethod)
			return next(srv, ss)
		}),
	}, WithLogger(slog.New(slog.DiscardHandler)))
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)

	var mounted atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*mounted.Load()).ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	card := testCard()
	card.SupportedInterfaces = []*a2apb.AgentInterface{
		{Url: srv.URL + "/rpc", ProtocolBinding: BindingJSONRPC, ProtocolVersion: "1.0"},
		{Url: srv.URL + "/rest", ProtocolBinding: BindingHTTPJSON, ProtocolVersion: "1.0"},
		{Url: "grpc://" + lis.Addr().String(), ProtocolBinding: BindingGRPC, ProtocolVersion: "1.0"},
	}
	hh, err := NewHTTPHandler(h, card, WithBindingOptions(WithLogger(slog.New(slog.DiscardHandler))))
	if err != nil {
		t.Fatal(err)
	}
	mounted.Store(&hh)

	wantIfaces := []string{"JSONRPC " + srv.URL + "/rpc", "HTTP+JSON " + srv.URL + "/rest", "GRPC " + lis.Addr().String()}
	for _, transport := range []string{"JSONRPC", "GRPC"} {
		t.Run(transport, func(t *testing.T) {
			r := runA2AGoClient(t, srv.URL, transport)
			if r.Transport != transport || r.CardURL != srv.URL+"/rpc" || !slices.Equal(r.Interfaces, wantIfaces) {
				t.Fatalf("transport %q, card url %q, interfaces %v", r.Transport, r.CardURL, r.Interfaces)
			}
			checkA2AGoReport(t, r)
		})
	}
	slices.Sort(methods)
	want := []string{"/a2a.v1.A2AService/CancelTask", "/a2a.v1.A2AService/CreateTaskPushNotificationConfig",
		"/a2a.v1.A2AService/DeleteTaskPushNotificationConfig", "/a2a.v1.A2AService/GetTask",
		"/a2a.v1.A2AService/GetTaskPushNotificationConfig", "/a2a.v1.A2AService/ListTaskPushNotificationConfig",
		"/a2a.v1.A2AService/SendMessage", "/a2a.v1.A2AService/SendStreamingMessage", "/a2a.v1.A2AService/TaskSubscription"}
	if !slices.Equal(methods, want) {
		t.Fatalf("gRPC methods called = %v, want %v", methods, want)
	}
}

// a2agoExecutor is a trivial a2a-go v0.3.3 agent: "wait" leaves the task input-required,
// anything else completes it with an artifact "echo: <text>".
type a2agoExecutor struct{}

func (a2agoExecutor) Execute(ctx context.Context, rc *a2asrv.RequestContext, q eventqueue.Queue) error {
	var in string
	for _, p := range rc.Message.Parts {
		if tp, ok := p.(a2ago.TextPart); ok {
			in += tp.Text
		}
	}
	if rc.StoredTask == nil {
		if err := q.Write(ctx, a2ago.NewStatusUpdateEvent(rc, a2ago.TaskStateSubmitted, nil)); err != nil {
			return err
		}
	}
	if in == "wait" {
		ev := a2ago.NewStatusUpdateEvent(rc, a2ago.TaskStateInputRequired, nil)
		ev.Final = true
		return q.Write(ctx, ev)
	}
	if err := q.Write(ctx, a2ago.NewStatusUpdateEvent(rc, a2ago.TaskStateWorking, nil)); err != nil {
		return err
	}
	if err := q.Write(ctx, a2ago.NewArtifactEvent(rc, a2ago.TextPart{Text: "echo: " + in})); err != nil {
		return err
	}
	ev := a2ago.NewStatusUpdateEvent(rc, a2ago.TaskStateCompleted, nil)
	ev.Final = true
	return q.Write(ctx, ev)
}

func (a2agoExecutor) Cancel(ctx context.Context, rc *a2asrv.RequestContext, q eventqueue.Queue) error {
	ev := a2ago.NewStatusUpdateEvent(rc, a2ago.TaskStateCanceled, nil)
	ev.Final = true
	return q.Write(ctx, ev)
}

// TestInterop_OurClientAgainstA2AGoServer: our Client, built from the a2a-go server's v0.3 card
// (so speaking v0.3), sends, streams, gets and cancels against the a2a-go v0.3.3 server over
// each of its transports: JSON-RPC (the card's preferred one) and gRPC (a2agrpc, the v0.3
// service a2a.v1.A2AService).
func TestInterop_OurClientAgainstA2AGoServer(t *testing.T) {
	handler := a2asrv.NewHandler(a2agoExecutor{}, a2asrv.WithLogger(slog.New(slog.DiscardHandler)))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	a2agrpc.NewHandler(handler).RegisterWith(gs)
	go func() { _ = gs.Serve(lis) }()
	defer gs.Stop()
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.Handle("/invoke", a2asrv.NewJSONRPCHandler(handler))
	mux.Handle(a2asrv.WellKnownAgentCardPath, a2asrv.NewStaticAgentCardHandler(&a2ago.AgentCard{
		Name: "a2a-go echo", Description: "echoes", URL: srv.URL + "/invoke", PreferredTransport: a2ago.TransportProtocolJSONRPC,
		AdditionalInterfaces: []a2ago.AgentInterface{{URL: srv.URL + "/invoke", Transport: a2ago.TransportProtocolJSONRPC},
			{URL: lis.Addr().String(), Transport: a2ago.TransportProtocolGRPC}},
		ProtocolVersion: "0.3.0", Version: "1", DefaultInputModes: []string{"text/plain"}, DefaultOutputModes: []string{"text/plain"},
		Capabilities: a2ago.AgentCapabilities{Streaming: true},
		Skills:       []a2ago.AgentSkill{{ID: "echo", Name: "Echo", Description: "echo", Tags: []string{"echo"}}},
	}))

	resp, err := http.Get(srv.URL + WellKnownCardPath)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	card, err := ParseAgentCard(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, binding := range []string{BindingJSONRPC, BindingGRPC} {
		t.Run(binding, func(t *testing.T) {
			// The card lists the transport first: the client takes it.
			only := proto.CloneOf(card)
			only.SupportedInterfaces = slices.DeleteFunc(only.SupportedInterfaces, func(i *a2apb.AgentInterface) bool { return i.GetProtocolBinding() != binding })
			c, err := NewClientFromCard(only)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.version != ProtocolVersion03 || c.binding != binding {
				t.Fatalf("client speaks %s over %s to a v0.3 card", c.version, c.binding)
			}
			interopAgainstA2AGo(t, c)
		})
	}
}

// interopAgainstA2AGo sends, streams, gets and cancels with c against the a2a-go echo server.
func interopAgainstA2AGo(t *testing.T, c *Client) {
	ctx := context.Background()

	// send
	res, err := c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("hi")})
	if err != nil {
		t.Fatal(err)
	}
	task := res.GetTask()
	if task.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED || len(task.GetArtifacts()) != 1 ||
		task.GetArtifacts()[0].GetParts()[0].GetText() != "echo: hi" {
		t.Fatalf("send = %v", task)
	}

	// stream
	kinds, err := streamKinds(t, c.SendStreamingMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("yo")}))
	if err != nil {
		t.Fatal(err)
	}
	if len(kinds) < 3 || !strings.HasPrefix(kinds[0], "task:") && kinds[0] != "status:TASK_STATE_SUBMITTED" ||
		kinds[len(kinds)-1] != "status:TASK_STATE_COMPLETED" || !slices.Contains(kinds, "artifact:echo: yo") {
		t.Fatalf("stream = %v", kinds)
	}

	// get
	got, err := c.GetTask(ctx, &a2apb.GetTaskRequest{Id: task.GetId()})
	if err != nil || got.GetId() != task.GetId() || got.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED {
		t.Fatalf("get = %v, %v", got, err)
	}
	_, err = c.GetTask(ctx, &a2apb.GetTaskRequest{Id: "no-such-task"})
	if !errors.Is(err, ErrTaskNotFound) {
		t.Fatalf("get unknown = %v", err)
	}

	// cancel
	res, err = c.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("wait")})
	if err != nil || res.GetTask().GetStatus().GetState() != a2apb.TaskState_TASK_STATE_INPUT_REQUIRED {
		t.Fatalf("send wait = %v, %v", res, err)
	}
	canceled, err := c.CancelTask(ctx, &a2apb.CancelTaskRequest{Id: res.GetTask().GetId()})
	if err != nil || canceled.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_CANCELED {
		t.Fatalf("cancel = %v, %v", canceled, err)
	}
	got, err = c.GetTask(ctx, &a2apb.GetTaskRequest{Id: res.GetTask().GetId()})
	if err != nil || got.GetStatus().GetState() != a2apb.TaskState_TASK_STATE_CANCELED {
		t.Fatalf("get canceled = %v, %v", got, err)
	}
}
