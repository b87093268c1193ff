package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestAgentRegisterHeartbeatRotateAndActAsTheAgent(t *testing.T) {
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	creds := filepath.Join(t.TempDir(), "credentials.json")
	t.Setenv("SOVEREIGN_CREDENTIALS", creds)
	keys := filepath.Join(t.TempDir(), "keys.json")
	t.Setenv("AGENTVAULT_KEYS_FILE", keys)
	srv, hs := startStack(t)
	ctx := context.Background()
	card := filepath.Join(t.TempDir(), "card.json")
	if err := os.WriteFile(card, []byte(`{"name":"CLI Agent","description":"Registered from the command line","version":"1.0.0",
		"supportedInterfaces":[{"url":"https://cli.example.com/a2a","protocolBinding":"JSONRPC","protocolVersion":"1.0"}],
		"capabilities":{},"defaultInputModes":["text/plain"],"defaultOutputModes":["text/plain"],
		"skills":[{"id":"cli","name":"CLI","description":"cli","tags":["cli"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	reg := []string{"--registry", hs.URL}
	if _, err := run(t, ctx, append([]string{"agent", "register", "--card", card}, reg...)...); err == nil || !strings.Contains(err.Error(), "sovereign login") {
		t.Fatalf("register without a developer credential: %v", err)
	}
	out, err := run(t, ctx, append([]string{"agent", "register", "--card", card, "--token", srv.AdminKey}, reg...)...)
	if err != nil {
		t.Fatalf("register: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`agent\s+(agt_\w+)\nDID\s+(did:key:z\w+)\nSPIFFE ID (spiffe://sovereign.test/agent/agt_\w+)`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "grant     100 AVT\n") {
		t.Fatalf("register output: %q", out)
	}
	for _, f := range []string{creds, keys} {
		if fi, err := os.Stat(f); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s: %v %v", f, fi, err)
		}
	}
	// The secrets are in the key store, not in the credentials file.
	if b, _ := os.ReadFile(creds); strings.Contains(string(b), "avcs_") || strings.Contains(string(b), "private_key") {
		t.Fatalf("secrets in the credentials file: %s", b)
	}
	if b, _ := os.ReadFile(keys); !strings.Contains(string(b), "avcs_") {
		t.Fatalf("no client secret in the key store: %s", b)
	}
	// The agentvault CLI reads the same key store.
	if out, err := run(t, ctx, "config", "get", m[1], "--field", "oauth_client_id", "--show"); err != nil || !strings.Contains(out, "agc_") {
		t.Fatalf("config get: %q %v", out, err)
	}
	if out, err := run(t, ctx, append([]string{"agent", "heartbeat"}, reg...)...); err != nil || !strings.Contains(out, m[1]+" alive at") {
		t.Fatalf("heartbeat: %q %v", out, err)
	}
	// --every keeps heartbeating until interrupted (here: the context ends), then exits 0.
	ectx, cancelEvery := context.WithTimeout(ctx, 1500*time.Millisecond)
	out, err = run(t, ectx, append([]string{"agent", "heartbeat", "--every", "200ms"}, reg...)...)
	cancelEvery()
	if n := strings.Count(out, m[1]+" alive at"); err != nil || n < 3 {
		t.Fatalf("heartbeat --every: %d heartbeats, %v\n%s", n, err, out)
	}
	if _, err := run(t, ctx, append([]string{"agent", "heartbeat", "--every", "-1s"}, reg...)...); err == nil || !strings.Contains(err.Error(), "positive duration") {
		t.Fatalf("heartbeat --every -1s: %v", err)
	}
	if out, err := run(t, ctx, append([]string{"token", "balance", "--account", m[1]}, reg...)...); err != nil || !strings.Contains(out, "100") {
		t.Fatalf("balance as the agent: %q %v", out, err)
	}
	if out, err := run(t, ctx, append([]string{"agent", "rotate"}, reg...)...); err != nil || !strings.Contains(out, "new client secret") {
		t.Fatalf("rotate: %q %v", out, err)
	}
	if _, err := run(t, ctx, append([]string{"agent", "heartbeat"}, reg...)...); err != nil {
		t.Fatalf("heartbeat after rotation: %v", err)
	}
	if _, err := run(t, ctx, append([]string{"agent", "heartbeat", "--agent", "agt_unknown"}, reg...)...); err == nil {
		t.Fatal("heartbeat of an unknown agent succeeded")
	}
	// A suspended agent's --every stops at the refusal, non-zero.
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/api/v1/agents/"+m[1]+"/status", strings.NewReader(`{"status":"suspended"}`))
	req.Header.Set("Authorization", "Bearer "+srv.AdminKey)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("suspend: %v %v", resp, err)
	}
	sctx, cancelSuspended := context.WithTimeout(ctx, 10*time.Second)
	_, err = run(t, sctx, append([]string{"agent", "heartbeat", "--every", "100ms"}, reg...)...)
	timedOut := sctx.Err() != nil
	cancelSuspended()
	if err == nil || !strings.Contains(err.Error(), "AGENT_SUSPENDED") || timedOut {
		t.Fatalf("heartbeat --every of a suspended agent: %v", err)
	}
	if err := os.Chmod(creds, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, ctx, append([]string{"agent", "heartbeat"}, reg...)...); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("world-readable credentials accepted: %v", err)
	}
}

func TestLogin_RefusesWrongPasswordsAndNeedsOne(t *testing.T) {
	t.Setenv("SOVEREIGN_CREDENTIALS", filepath.Join(t.TempDir(), "credentials.json"))
	t.Setenv("SOVEREIGN_PASSWORD", "")
	_, hs := startStack(t)
	ctx := context.Background()
	if _, err := run(t, ctx, "login", "--email", "nobody@example.com", "--registry", hs.URL); err == nil || !strings.Contains(err.Error(), "no password") {
		t.Fatalf("login without a password: %v", err)
	}
	t.Setenv("SOVEREIGN_PASSWORD", "wrong password entirely")
	if _, err := run(t, ctx, "login", "--email", "nobody@example.com", "--registry", hs.URL); err == nil || !strings.Contains(err.Error(), "INVALID_CREDENTIALS") {
		t.Fatalf("wrong password: %v", err)
	}
}
