package agentvault_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/a2a"
	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/agentvault"
	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/server"
)

// stack is an embedded Sovereign Stack (registry, TEG, identity) on a test HTTP server.
type stack struct {
	URL      string
	AdminKey string // a verified developer's (the admin's) API key
	srv      *server.Server
}

// startStack runs server.New on a fresh SQLite database in a temporary directory, with rate
// limits out of the way, and skips the test when the registry does not serve the bootstrap
// onboarding routes.
func startStack(t *testing.T) *stack {
	t.Helper()
	return startStackWith(t, nil)
}

// startStackWith is startStack with the configuration adjusted by tweak (when not nil).
func startStackWith(t *testing.T, tweak func(*config.Config)) *stack {
	t.Helper()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.PublicURL = "http://registry.test"
	cfg.RateLimits.DefaultPerMinute, cfg.RateLimits.DefaultBurst = 100000, 100000
	cfg.RateLimits.AuthPerMinute, cfg.RateLimits.AuthBurst = 100000, 100000
	cfg.RateLimits.AuthFailuresPerMinute, cfg.RateLimits.AuthFailuresBurst = 100000, 100000
	cfg.RateLimits.BootstrapPerMinute, cfg.RateLimits.BootstrapBurst = 100000, 100000
	if tweak != nil {
		tweak(&cfg)
	}
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Options{Config: cfg, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		PasswordParams: credential.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); _ = srv.Close() })
	if srv.AdminKey == "" {
		t.Fatal("the stack created no admin key")
	}
	resp, err := http.Post(hs.URL+"/api/v1/onboard/bootstrap/request-token", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		t.Skip("the registry does not serve the bootstrap onboarding routes yet")
	}
	for deadline := time.Now().Add(5 * time.Second); !srv.Cards().IndexReady(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("discovery index did not load")
		}
	}
	return &stack{URL: hs.URL, AdminKey: srv.AdminKey, srv: srv}
}

// testCard is a v1.0 card of an agent served at base: JSON-RPC at /a2a, HTTP+JSON at /a2a/v1.
func testCard(name, base string, extra map[string]any) []byte {
	c := map[string]any{
		"name": name, "description": name + " repeats what it is told", "version": "1.0.0",
		"supportedInterfaces": []map[string]any{
			{"url": base + "/a2a", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
			{"url": base + "/a2a/v1", "protocolBinding": "HTTP+JSON", "protocolVersion": "1.0"},
		},
		"capabilities":      map[string]any{"streaming": true},
		"defaultInputModes": []string{"text/plain"}, "defaultOutputModes": []string{"text/plain"},
		"skills": []map[string]any{{"id": "echo", "name": "Echo", "description": "Echoes text", "tags": []string{"echo", "test"}}},
	}
	for k, v := range extra {
		c[k] = v
	}
	b, _ := json.Marshal(c)
	return b
}

// listen opens a loopback listener and returns it with its base URL.
func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, "http://" + ln.Addr().String()
}

// echo completes each task with the artifact "echo: <text>" after a working status; the text
// "wait" leaves the task input-required.
type echo struct{}

func (echo) Execute(ctx context.Context, rc *a2a.RequestContext, q *a2a.EventQueue) error {
	in := agentvault.TextOf(rc.Message.GetParts())
	if in == "wait" {
		return q.Status(ctx, a2apb.TaskState_TASK_STATE_INPUT_REQUIRED, nil)
	}
	if err := q.Status(ctx, a2apb.TaskState_TASK_STATE_WORKING, nil); err != nil {
		return err
	}
	art := &a2apb.Artifact{ArtifactId: "out", Name: "answer", Parts: []*a2apb.Part{{Content: &a2apb.Part_Text{Text: "echo: " + in}}}}
	if err := q.Artifact(ctx, art); err != nil {
		return err
	}
	return q.Status(ctx, a2apb.TaskState_TASK_STATE_COMPLETED, nil)
}

func (echo) Cancel(context.Context, *a2a.RequestContext, *a2a.EventQueue) error { return nil }

// registered is an agent registered on a stack, its credentials kept in Keys.
type registered struct {
	Reg    *agentvault.Registration
	Keys   agentvault.KeyStore
	Tokens *agentvault.TokenSource
}

// register registers a card on the stack as the admin developer.
func (s *stack) register(t *testing.T, card []byte, keys agentvault.KeyStore) *registered {
	t.Helper()
	ctx := context.Background()
	reg, err := agentvault.NewRegistry(s.URL, agentvault.BearerToken(s.AdminKey)).Register(ctx, card, agentvault.RegisterOptions{SVID: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(reg.Identity.ID, "agt_") || reg.ClientSecret == "" || reg.SVID == nil {
		t.Fatalf("registration %+v", reg)
	}
	if err := reg.Save(ctx, keys); err != nil {
		t.Fatal(err)
	}
	return &registered{Reg: reg, Keys: keys, Tokens: reg.TokenSource(s.URL)}
}
