package a2a

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// TestNewHTTPHandler_MountsWhatTheCardSays: the bindings are served at the paths of the card's
// interfaces (with or without a trailing slash), the card at the well-known path, gRPC
// interfaces left to NewGRPCServer, and cards that cannot be served are refused.
func TestNewHTTPHandler_MountsWhatTheCardSays(t *testing.T) {
	card := &a2apb.AgentCard{Name: "m", Capabilities: &a2apb.AgentCapabilities{Streaming: ptr(true)}, SupportedInterfaces: []*a2apb.AgentInterface{
		{Url: "grpc://127.0.0.1:1", ProtocolBinding: BindingGRPC, ProtocolVersion: "1.0"},
		{Url: "https://agent.example/a2a/", ProtocolBinding: BindingJSONRPC, ProtocolVersion: "1.0"},
		{Url: "https://agent.example/a2a", ProtocolBinding: BindingJSONRPC, ProtocolVersion: "0.3"},
		{Url: "https://agent.example/a2a/v1", ProtocolBinding: BindingHTTPJSON, ProtocolVersion: "1.0"},
	}}
	s := NewServer(ServerConfig{Executor: echoExecutor{}, Card: card})
	t.Cleanup(func() { _ = s.Close() })
	h, err := NewHTTPHandler(s, card)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ctx := context.Background()
	for _, c := range []struct{ path, binding string }{
		{"/a2a", BindingJSONRPC}, {"/a2a/", BindingJSONRPC}, {"/a2a/v1", BindingHTTPJSON}, {"/a2a/v1/", BindingHTTPJSON},
	} {
		cl, err := NewClient(srv.URL+c.path, c.binding)
		if err != nil {
			t.Fatal(err)
		}
		res, err := cl.SendMessage(ctx, &a2apb.SendMessageRequest{Message: userMsg("hi")})
		if err != nil || res.GetTask().GetStatus().GetState() != a2apb.TaskState_TASK_STATE_COMPLETED {
			t.Fatalf("%s %s: %v, %v", c.binding, c.path, res, err)
		}
	}
	resp, err := http.Get(srv.URL + WellKnownCardPath)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("card: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = http.Get(srv.URL + "/elsewhere")
	if err != nil || resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("unknown path: %v %v", resp, err)
	}
	resp.Body.Close()

	for name, bad := range map[string][]*a2apb.AgentInterface{
		"no interface":   nil,
		"only unknown":   {{Url: "https://x.example/", ProtocolBinding: "SOAP"}},
		"bad URL":        {{Url: "/relative", ProtocolBinding: BindingJSONRPC}},
		"one path twice": {{Url: "https://a.example/x", ProtocolBinding: BindingJSONRPC}, {Url: "https://a.example/x/", ProtocolBinding: BindingHTTPJSON}},
	} {
		if _, err := NewHTTPHandler(s, &a2apb.AgentCard{SupportedInterfaces: bad}); err == nil {
			t.Fatalf("%s: accepted", name)
		}
	}

	// A gRPC-only card: the HTTP handler serves the card alone.
	only, err := NewHTTPHandler(s, &a2apb.AgentCard{Name: "g", SupportedInterfaces: []*a2apb.AgentInterface{{Url: "grpc://x:1", ProtocolBinding: BindingGRPC}}})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]int{WellKnownCardPath: 200, "/": 404} {
		w := httptest.NewRecorder()
		only.ServeHTTP(w, httptest.NewRequest("GET", path, nil))
		if w.Code != want {
			t.Fatalf("gRPC-only card, GET %s = %d", path, w.Code)
		}
	}
}

// TestNewHTTPHandler_Middleware: WithMiddleware runs in front of each binding, after the
// Authenticator, with the binding's name; the card is not behind it.
func TestNewHTTPHandler_Middleware(t *testing.T) {
	card := &a2apb.AgentCard{Name: "m", SupportedInterfaces: []*a2apb.AgentInterface{
		{Url: "https://agent.example/rpc", ProtocolBinding: BindingJSONRPC, ProtocolVersion: "1.0"},
		{Url: "https://agent.example/rest", ProtocolBinding: BindingHTTPJSON, ProtocolVersion: "1.0"},
	}}
	s := NewServer(ServerConfig{Executor: echoExecutor{}, Card: card})
	t.Cleanup(func() { _ = s.Close() })
	var seen []string
	h, err := NewHTTPHandler(s, card, WithMiddleware(func(binding string, next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen = append(seen, binding)
			WriteError(w, r, binding, ErrUnauthenticated)
		})
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		status       int
	}{{"POST", "/rpc", 401}, {"GET", "/rest/tasks/x", 401}, {"GET", WellKnownCardPath, 200}} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}`)))
		if w.Code != c.status {
			t.Fatalf("%s %s = %d %s", c.method, c.path, w.Code, w.Body)
		}
	}
	if strings.Join(seen, ",") != BindingJSONRPC+","+BindingHTTPJSON {
		t.Fatalf("middleware saw %v", seen)
	}
}

// TestWriteError_AsTheBindingWould: middleware errors in each binding's shape.
func TestWriteError_AsTheBindingWould(t *testing.T) {
	r := httptest.NewRequest("POST", "/rpc", strings.NewReader(`{"jsonrpc":"2.0","id":42,"method":"SendMessage","params":{}}`))
	w := httptest.NewRecorder()
	WriteError(w, r, BindingJSONRPC, Errorf(CodeUnsupportedOperation, "slow down"))
	var rpc struct {
		ID    int `json:"id"`
		Error struct {
			Code    int
			Message string
			Data    []map[string]any
		}
	}
	if err := json.Unmarshal(w.Body.Bytes(), &rpc); err != nil || w.Code != 200 || rpc.ID != 42 || rpc.Error.Code != CodeUnsupportedOperation ||
		rpc.Error.Data[0]["reason"] != "UNSUPPORTED_OPERATION" {
		t.Fatalf("JSON-RPC: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	WriteError(w, httptest.NewRequest("GET", "/tasks/x", nil), BindingHTTPJSON, ErrTaskNotFound)
	if w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), `"status":"NOT_FOUND"`) || !strings.Contains(w.Body.String(), "TASK_NOT_FOUND") {
		t.Fatalf("HTTP+JSON: %d %s", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	WriteError(w, httptest.NewRequest("GET", "/", nil), BindingHTTPJSON, context.Canceled)
	if w.Code != 500 || strings.Contains(w.Body.String(), "canceled") {
		t.Fatalf("non-A2A error: %d %s", w.Code, w.Body)
	}
	if err := errorFromGRPC(GRPCStatus(ErrTaskNotFound)); errCode(err) != CodeTaskNotFound {
		t.Fatalf("gRPC status = %v", err)
	}
}
