package agentvault_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/agentvault"
)

// testAgent is an echo agent on httptest: the card (built by cardFn from the server's URL) at
// the well-known path, JSON-RPC at /a2a, HTTP+JSON under /a2a/v1. It records the headers of
// A2A requests and counts card fetches.
type testAgent struct {
	URL        string
	cardHits   atomic.Int32
	mu         sync.Mutex
	lastHeader http.Header
}

func (a *testAgent) header() http.Header {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastHeader
}

func serveTestAgent(t *testing.T, cardFn func(base string) []byte) (*testAgent, []byte) {
	t.Helper()
	ta := &testAgent{}
	srv := a2a.NewServer(a2a.ServerConfig{Executor: echo{}})
	t.Cleanup(func() { _ = srv.Close() })
	var cardJSON []byte
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+a2a.WellKnownCardPath, func(w http.ResponseWriter, r *http.Request) {
		ta.cardHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(cardJSON)
	})
	rpc := a2a.NewJSONRPCHandler(srv)
	rest := http.StripPrefix("/a2a/v1", a2a.NewRESTHandler(srv))
	mux.HandleFunc("/a2a", func(w http.ResponseWriter, r *http.Request) {
		ta.mu.Lock()
		ta.lastHeader = r.Header.Clone()
		ta.mu.Unlock()
		rpc.ServeHTTP(w, r)
	})
	mux.HandleFunc("/a2a/v1/", func(w http.ResponseWriter, r *http.Request) {
		ta.mu.Lock()
		ta.lastHeader = r.Header.Clone()
		ta.mu.Unlock()
		rest.ServeHTTP(w, r)
	})
	hs := httptest.NewServer(mux)
	t.Cleanup(hs.Close)
	ta.URL = hs.URL
	cardJSON = cardFn(hs.URL)
	return ta, cardJSON
}

func TestKindOfRef(t *testing.T) {
	for ref, want := range map[string]agentvault.RefKind{
		"":                                   agentvault.RefInvalid,
		"agt_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C":     agentvault.RefRegistry,
		"https://agent.example":              agentvault.RefURL,
		"http://127.0.0.1:9/card.json":       agentvault.RefURL,
		"./agent-card.json":                  agentvault.RefFile,
		"agt_card.json":                      agentvault.RefFile,
		"file:///tmp/card.json":              agentvault.RefFile,
		"/home/me/agents/agt_1/card.json":    agentvault.RefFile,
		"agents/agt_01JDZ5V3R6Q9WQ2Y7N8K4T1": agentvault.RefFile,
	} {
		if got := agentvault.KindOfRef(ref); got != want {
			t.Errorf("KindOfRef(%q) = %v, want %v", ref, got, want)
		}
	}
}

func TestClient_ResolvesURLAndCardFileAndCaches(t *testing.T) {
	ctx := context.Background()
	ta, card := serveTestAgent(t, func(base string) []byte { return testCard("Echo", base, nil) })
	file := filepath.Join(t.TempDir(), "card.json")
	if err := os.WriteFile(file, card, 0o600); err != nil {
		t.Fatal(err)
	}
	c := agentvault.NewClient(agentvault.WithKeyStore(agentvault.NewFileStore(filepath.Join(t.TempDir(), "k.json"))))
	for _, ref := range []string{ta.URL, ta.URL + "/", ta.URL + a2a.WellKnownCardPath, file, "file://" + file} {
		res, err := c.Send(ctx, ref, "hi "+ref)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if got := agentvault.AnswerText(res); got != "echo: hi "+ref {
			t.Fatalf("%s: answer %q", ref, got)
		}
	}
	hits := ta.cardHits.Load()
	if hits != 3 {
		t.Fatalf("%d card fetches for three URL references, want 3", hits)
	}
	if _, err := c.Send(ctx, ta.URL, "again"); err != nil || ta.cardHits.Load() != hits {
		t.Fatalf("a cached target was fetched again (%d fetches), %v", ta.cardHits.Load(), err)
	}
	c.Forget(ta.URL)
	if _, err := c.Send(ctx, ta.URL, "again"); err != nil || ta.cardHits.Load() != hits+1 {
		t.Fatalf("Forget did not drop the target (%d fetches), %v", ta.cardHits.Load(), err)
	}
	if _, err := c.Send(ctx, "agt_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C", "x"); err == nil || !strings.Contains(err.Error(), "no registry") {
		t.Fatalf("registry id without a registry = %v", err)
	}
	if _, err := c.Send(ctx, filepath.Join(t.TempDir(), "missing.json"), "x"); err == nil {
		t.Fatal("a missing card file resolved")
	}
}

func TestClient_ChoosesTheFirstSpokenBinding(t *testing.T) {
	ctx := context.Background()
	// HTTP+JSON over v0.3 first (not spoken), then HTTP+JSON v1.0: the client must use the latter.
	ta, _ := serveTestAgent(t, func(base string) []byte {
		return testCard("Rest First", base, map[string]any{"supportedInterfaces": []map[string]any{
			{"url": base + "/a2a/v1", "protocolBinding": "HTTP+JSON", "protocolVersion": "0.3"},
			{"url": base + "/a2a/v1", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"},
		}})
	})
	c := agentvault.NewClient(agentvault.WithKeyStore(agentvault.EnvStore{Environ: func() []string { return nil }}))
	res, err := c.Send(ctx, ta.URL, "rest")
	if err != nil || agentvault.AnswerText(res) != "echo: rest" {
		t.Fatalf("send = %v, %v", res, err)
	}
	if v := ta.header().Get(a2a.VersionHeader); v != "1.0" {
		t.Fatalf("A2A-Version %q", v)
	}
}

func TestClient_AuthFromKeyStoreAndBearerOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	schemes := map[string]any{
		"key":    map[string]any{"apiKeySecurityScheme": map[string]any{"location": "header", "name": "X-Agent-Key"}},
		"bearer": map[string]any{"httpAuthSecurityScheme": map[string]any{"scheme": "Bearer"}},
	}
	secured, _ := serveTestAgent(t, func(base string) []byte {
		return testCard("Secured", base, map[string]any{"securitySchemes": schemes})
	})
	open, _ := serveTestAgent(t, func(base string) []byte { return testCard("Open", base, nil) })
	keys := agentvault.EnvStore{Environ: func() []string {
		return []string{"AGENTVAULT_KEY_SECURED=secured-key", "AGENTVAULT_KEY_" + agentvault.EnvID(strings.TrimPrefix(open.URL, "http://")) + "=open-key"}
	}}
	c := agentvault.NewClient(agentvault.WithKeyStore(keys), agentvault.WithBearer(agentvault.BearerToken("my-jwt")))

	if _, err := c.Send(ctx, secured.URL, "x"); err != nil {
		t.Fatal(err)
	}
	h := secured.header()
	if h.Get("X-Agent-Key") != "secured-key" || h.Get("Authorization") != "Bearer my-jwt" {
		t.Fatalf("secured agent got X-Agent-Key %q, Authorization %q", h.Get("X-Agent-Key"), h.Get("Authorization"))
	}
	// The open agent's key is kept under its URL host; it asks for no bearer token, so the
	// caller's identity is not handed to it.
	if _, err := c.Send(ctx, open.URL, "x"); err != nil {
		t.Fatal(err)
	}
	h = open.header()
	if h.Get(agentvault.DefaultAPIKeyHeader) != "open-key" || h.Get("Authorization") != "" {
		t.Fatalf("open agent got X-Api-Key %q, Authorization %q", h.Get(agentvault.DefaultAPIKeyHeader), h.Get("Authorization"))
	}
}

func TestClient_ReadsV03CardFile(t *testing.T) {
	ctx := context.Background()
	ta, _ := serveTestAgent(t, func(base string) []byte { return testCard("New", base, nil) })
	v03, _ := json.Marshal(map[string]any{
		"name": "Old", "description": "a v0.3 card", "version": "1.0.0", "protocolVersion": "0.3.0",
		"url": ta.URL + "/a2a", "preferredTransport": "JSONRPC",
		"capabilities":      map[string]any{"streaming": true},
		"defaultInputModes": []string{"text/plain"}, "defaultOutputModes": []string{"text/plain"},
		"skills": []map[string]any{{"id": "echo", "name": "Echo", "description": "Echoes", "tags": []string{"echo"}}},
	})
	file := filepath.Join(t.TempDir(), "old.json")
	if err := os.WriteFile(file, v03, 0o600); err != nil {
		t.Fatal(err)
	}
	c := agentvault.NewClient(agentvault.WithKeyStore(agentvault.EnvStore{Environ: func() []string { return nil }}))
	res, err := c.Send(ctx, file, "old")
	if err != nil || agentvault.AnswerText(res) != "echo: old" {
		t.Fatalf("send over v0.3 = %v, %v", res, err)
	}
	if v := ta.header().Get(a2a.VersionHeader); v != "0.3" {
		t.Fatalf("A2A-Version %q, want 0.3 for a v0.3 card", v)
	}
}

func TestAnswerText(t *testing.T) {
	msg := &a2apb.SendMessageResponse{Payload: &a2apb.SendMessageResponse_Message{Message: a2a.NewTextMessage(a2apb.Role_ROLE_AGENT, "direct")}}
	if got := agentvault.AnswerText(msg); got != "direct" {
		t.Fatalf("message answer %q", got)
	}
	task := &a2apb.Task{Status: &a2apb.TaskStatus{State: a2apb.TaskState_TASK_STATE_FAILED, Message: a2a.NewTextMessage(a2apb.Role_ROLE_AGENT, "why")}}
	if got := agentvault.TaskText(task); got != "why" {
		t.Fatalf("status message text %q", got)
	}
}

// TestClient_UsesGRPCWhenTheCardPrefersIt: a card listing its gRPC interface first is called
// over gRPC, with the key store's credentials as metadata.
func TestClient_UsesGRPCWhenTheCardPrefersIt(t *testing.T) {
	ctx := context.Background()
	srv := a2a.NewServer(a2a.ServerConfig{Executor: echo{}})
	t.Cleanup(func() { _ = srv.Close() })
	var mu sync.Mutex
	var versions []string
	gs := a2a.NewGRPCServer(srv, nil, []grpc.ServerOption{grpc.ChainUnaryInterceptor(
		func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			md, _ := metadata.FromIncomingContext(ctx)
			mu.Lock()
			versions = append(versions, strings.Join(md.Get("a2a-version"), ","))
			mu.Unlock()
			return next(ctx, req)
		})})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(lis) }()
	t.Cleanup(gs.Stop)
	ta, _ := serveTestAgent(t, func(base string) []byte {
		return testCard("GRPC First", base, map[string]any{"supportedInterfaces": []map[string]any{
			{"url": "grpc://" + lis.Addr().String(), "protocolBinding": "GRPC", "protocolVersion": "1.0"},
			{"url": base + "/a2a/v1", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"},
		}})
	})
	c := agentvault.NewClient(agentvault.WithKeyStore(agentvault.EnvStore{Environ: func() []string { return nil }}))
	res, err := c.Send(ctx, ta.URL, "fast")
	if err != nil || agentvault.AnswerText(res) != "echo: fast" {
		t.Fatalf("send = %v, %v", res, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(versions) != 1 || versions[0] != "1.0" {
		t.Fatalf("gRPC calls = %v", versions)
	}
}

// countingListener counts the connections it accepted that are still open.
type countingListener struct {
	net.Listener
	open atomic.Int32
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Add(1)
	return &countedConn{Conn: c, l: l}, nil
}

type countedConn struct {
	net.Conn
	l    *countingListener
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.l.open.Add(-1) })
	return c.Conn.Close()
}

// waitOpen waits until l has want open connections.
func waitOpen(t *testing.T, l *countingListener, want int32, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for l.open.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d open gRPC connections, want %d", what, l.open.Load(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestClient_ForgetClosesGRPCConnections: the gRPC connection of a target is closed when the
// client forgets it (Forget, Close) — after the calls in flight on it end, not under them —
// and kept across a card refresh that finds the same card.
func TestClient_ForgetClosesGRPCConnections(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv := a2a.NewServer(a2a.ServerConfig{Executor: echo{}})
	gs := a2a.NewGRPCServer(srv, nil, nil)
	go func() { _ = gs.Serve(cl) }()
	t.Cleanup(gs.Stop)
	cardFile := writeCard(t, testCard("Fast", "http://127.0.0.1:1", map[string]any{"supportedInterfaces": []map[string]any{
		{"url": "grpc://" + ln.Addr().String(), "protocolBinding": "GRPC", "protocolVersion": "1.0"}}}))
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	client := agentvault.NewClient(agentvault.WithKeyStore(agentvault.EnvStore{Environ: func() []string { return nil }}),
		agentvault.WithClock(func() time.Time { return time.Unix(0, now.Load()) }))
	ctx := context.Background()

	send := func() {
		t.Helper()
		if res, err := client.Send(ctx, cardFile, "hi"); err != nil || agentvault.AnswerText(res) != "echo: hi" {
			t.Fatalf("send = %v, %v", res, err)
		}
	}
	send()
	waitOpen(t, cl, 1, "after a call")
	send()
	waitOpen(t, cl, 1, "after a second call (one connection per target)")

	// A refresh after the cache TTL that finds the same card keeps the client and its conn.
	now.Add(int64(2 * agentvault.CardCacheTTL))
	send()
	time.Sleep(50 * time.Millisecond)
	waitOpen(t, cl, 1, "after a refresh of an unchanged card")

	client.Forget(cardFile)
	waitOpen(t, cl, 0, "after Forget")

	// Forget during a stream: the connection stays until the stream ends.
	n := 0
	for _, err := range client.Stream(ctx, cardFile, "streamed") {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 1 {
			client.Forget(cardFile)
			time.Sleep(50 * time.Millisecond)
			waitOpen(t, cl, 1, "Forget during a stream")
		}
	}
	waitOpen(t, cl, 0, "after the forgotten target's stream ended")

	// A changed card after the TTL replaces the target and closes the old connection.
	send()
	waitOpen(t, cl, 1, "after a call")
	writeCardAt(t, cardFile, testCard("Faster", "http://127.0.0.1:1", map[string]any{"supportedInterfaces": []map[string]any{
		{"url": "grpc://" + ln.Addr().String(), "protocolBinding": "GRPC", "protocolVersion": "1.0"}}}))
	now.Add(int64(2 * agentvault.CardCacheTTL))
	send()
	time.Sleep(50 * time.Millisecond)
	waitOpen(t, cl, 1, "after a refresh to a changed card (old closed, new open)")

	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	waitOpen(t, cl, 0, "after Close")
}

func writeCardAt(t *testing.T, path string, card []byte) {
	t.Helper()
	if err := os.WriteFile(path, card, 0o600); err != nil {
		t.Fatal(err)
	}
}
