package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/server"
)

func TestTokenCommands_AgainstARunningStack(t *testing.T) {
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	srv, hs := startStack(t)
	ctx := context.Background()
	admin := []string{"--registry", hs.URL, "--credential", srv.AdminKey}

	if out, err := run(t, ctx, append([]string{"token", "mint", "--amount", "1000", "--message", "genesis", "--idempotency-key", "m1"}, admin...)...); err != nil || !strings.Contains(out, "mint") {
		t.Fatalf("mint = %q, %v", out, err)
	}
	if out, err := run(t, ctx, append([]string{"token", "mint", "--amount", "1000", "--message", "genesis", "--idempotency-key", "m1"}, admin...)...); err != nil || !strings.Contains(out, "(replayed)") {
		t.Fatalf("mint replay = %q, %v", out, err)
	}
	if _, err := run(t, ctx, append([]string{"token", "mint", "--amount", "1e3"}, admin...)...); err == nil || !strings.Contains(err.Error(), "INVALID_AMOUNT") {
		t.Fatalf("bad amount: %v", err)
	}
	c := &apiClient{base: hs.URL, credential: srv.AdminKey, http: hs.Client()}
	for _, a := range []string{"agt_a", "agt_b"} {
		if err := c.do("POST", "/api/v1/admin/teg/accounts", nil, map[string]string{"agent_id": a}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := run(t, ctx, append([]string{"token", "grant", "--to", "agt_a", "--amount", "100"}, admin...)...); err != nil {
		t.Fatal(err)
	}
	iss := srv.Issuer()
	id, _ := identity.AgentID(iss.TrustDomain(), "agt_a")
	aud, _ := identity.TEGID(iss.TrustDomain())
	tok, err := iss.MintJWTSVID(ctx, id, []string{aud.String()}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	agent := []string{"--registry", hs.URL, "--credential", tok}
	if out, err := run(t, ctx, append([]string{"token", "transfer", "--to", "agt_b", "--amount", "10", "--message", "thanks"}, agent...)...); err != nil || !strings.Contains(out, "agt_a → agt_b") {
		t.Fatalf("transfer = %q, %v", out, err)
	}
	if out, err := run(t, ctx, append([]string{"token", "balance"}, agent...)...); err != nil || !strings.Contains(out, "liquid 89.99") {
		t.Fatalf("balance = %q, %v", out, err)
	}
	if out, err := run(t, ctx, append([]string{"token", "history", "--json"}, agent...)...); err != nil || !strings.Contains(out, `"kind": "transfer"`) {
		t.Fatalf("history = %q, %v", out, err)
	}
	if _, err := run(t, ctx, append([]string{"token", "transfer", "--to", "agt_b", "--amount", "1000"}, agent...)...); err == nil || !strings.Contains(err.Error(), "TRANSFER_LIMIT_EXCEEDED") {
		t.Fatalf("over the tier limit: %v", err)
	}
	if _, err := run(t, ctx, append([]string{"token", "burn", "--account", "agt_b", "--amount", "1"}, agent...)...); err == nil || !strings.Contains(err.Error(), "FORBIDDEN") {
		t.Fatalf("agent burn: %v", err)
	}
	if _, err := run(t, ctx, "token", "balance", "--registry", hs.URL); err == nil || !strings.Contains(err.Error(), "no credential") {
		t.Fatalf("no credential: %v", err)
	}
}

// startStack runs an embedded stack (SQLite in a temporary directory) behind a test HTTP server,
// both closed when the test ends.
func startStack(t *testing.T) (*server.Server, *httptest.Server) {
	t.Helper()
	cfg := config.Default()
	cfg.Data = t.TempDir()
	cfg.PublicURL = "http://registry.test"
	if err := cfg.Finish(); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Options{Config: cfg, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		PasswordParams: credential.PasswordParams{MemoryKiB: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return srv, hs
}
