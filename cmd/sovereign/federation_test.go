package main

import (
	"context"
	"strings"
	"testing"
)

func TestFederationCommands_AgainstARunningStack(t *testing.T) {
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	srv, hs := startStack(t)
	ctx := context.Background()
	admin := []string{"--registry", hs.URL, "--credential", srv.AdminKey}
	out, err := run(t, ctx, append([]string{"federation", "peers"}, admin...)...)
	if err != nil || !strings.Contains(out, "(no peers)") {
		t.Fatalf("peers = %q, %v", out, err)
	}
	out, err = run(t, ctx, append([]string{"federation", "propose", "--trust-domain", "b.example", "--base-url", "https://b.example:8443",
		"--bundle-endpoint", "https://b.example/.well-known/spiffe-bundle"}, admin...)...)
	if err != nil || !strings.Contains(out, "PENDING_APPROVAL") {
		t.Fatalf("propose = %q, %v", out, err)
	}
	id := strings.Fields(out)[0]
	if _, err := run(t, ctx, append([]string{"federation", "propose", "--trust-domain", "c.example", "--base-url", "http://c.example",
		"--bundle-endpoint", "https://c.example/b"}, admin...)...); err == nil || !strings.Contains(err.Error(), "INVALID_PEER_URL") {
		t.Fatalf("http peer URL: %v", err)
	}
	if out, err := run(t, ctx, append([]string{"federation", "approve", id, "--reason", "partner"}, admin...)...); err != nil || !strings.Contains(out, "ACTIVE") || !strings.Contains(out, "breaker closed") {
		t.Fatalf("approve = %q, %v", out, err)
	}
	if _, err := run(t, ctx, append([]string{"federation", "reject", id}, admin...)...); err == nil || !strings.Contains(err.Error(), "INVALID_PEER_TRANSITION") {
		t.Fatalf("reject an active peer: %v", err)
	}
	if out, err := run(t, ctx, append([]string{"federation", "deactivate", id}, admin...)...); err != nil || !strings.Contains(out, "INACTIVE") {
		t.Fatalf("deactivate = %q, %v", out, err)
	}
	if out, err := run(t, ctx, append([]string{"federation", "peers", id, "--json"}, admin...)...); err != nil || !strings.Contains(out, `"state": "INACTIVE"`) {
		t.Fatalf("peers ID --json = %q, %v", out, err)
	}
	if out, err := run(t, ctx, "discover", "weather", "--federated", "--registry", hs.URL); err != nil || !strings.Contains(out, "no agent cards match") {
		t.Fatalf("discover --federated = %q, %v", out, err)
	}
}
