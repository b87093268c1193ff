package main

import (
	"context"
	"strings"
	"testing"
)

func TestReputationCommands_AgainstARunningStack(t *testing.T) {
	srv, hs, agents := walletStack(t, "0", "agt_a", "agt_b")
	ctx := context.Background()
	c := &apiClient{base: hs.URL, credential: srv.AdminKey, http: hs.Client()}
	if err := c.do("POST", "/api/v1/token/grant", nil, map[string]string{"to": "agt_a", "amount": "100"}, nil); err != nil {
		t.Fatal(err)
	}
	tok := agents["agt_a"].credential
	var tr struct {
		ID string `json:"id"`
	}
	if err := (&apiClient{base: hs.URL, credential: tok, http: hs.Client()}).do("POST", "/api/v1/token/transfer", nil, map[string]string{"to": "agt_b", "amount": "10"}, &tr); err != nil {
		t.Fatal(err)
	}
	agent := []string{"--registry", hs.URL, "--credential", tok}
	public := []string{"--registry", hs.URL}

	if out, err := run(t, ctx, append([]string{"reputation", "show", "agt_b"}, public...)...); err != nil || !strings.Contains(out, "agt_b: 100/1000, tier New") || !strings.Contains(out, "transitive_trust") {
		t.Fatalf("show = %q, %v", out, err)
	}
	if out, err := run(t, ctx, append([]string{"reputation", "rate", "agt_b", "--interaction", tr.ID, "--stars", "4", "--comment", "good"}, agent...)...); err != nil || !strings.Contains(out, "★★★★☆") {
		t.Fatalf("rate = %q, %v", out, err)
	}
	if _, err := run(t, ctx, append([]string{"reputation", "rate", "agt_b", "--interaction", tr.ID, "--stars", "4"}, agent...)...); err == nil || !strings.Contains(err.Error(), "ALREADY_RATED") {
		t.Fatalf("second rating: %v", err)
	}
	if _, err := run(t, ctx, append([]string{"reputation", "rate", "agt_b", "--interaction", tr.ID, "--stars", "9"}, agent...)...); err == nil || !strings.Contains(err.Error(), "INVALID_STARS") {
		t.Fatalf("nine stars: %v", err)
	}
	// The signed reputation, verified against the published trust bundle.
	signed, err := run(t, ctx, append([]string{"reputation", "signed", "agt_b"}, public...)...)
	if err != nil || strings.Count(strings.TrimSpace(signed), ".") != 2 {
		t.Fatalf("signed = %q, %v", signed, err)
	}
	if out, err := run(t, ctx, append([]string{"reputation", "verify", strings.TrimSpace(signed)}, public...)...); err != nil || !strings.Contains(out, "valid: agt_b scores 100, tier New, signed by spiffe://sovereign.test/teg") {
		t.Fatalf("verify = %q, %v", out, err)
	}
	if _, err := run(t, ctx, append([]string{"reputation", "verify", tok}, public...)...); err == nil || !strings.Contains(err.Error(), "INVALID_REPUTATION_TOKEN") {
		t.Fatalf("verify of an agent's JWT-SVID: %v", err)
	}
	if out, err := run(t, ctx, append([]string{"reputation", "ratings", "agt_b"}, public...)...); err != nil || !strings.Contains(out, "agt_a → agt_b") || !strings.Contains(out, `"good"`) {
		t.Fatalf("ratings = %q, %v", out, err)
	}
	if out, err := run(t, ctx, append([]string{"reputation", "ratings", "agt_b", "--json"}, public...)...); err != nil || !strings.Contains(out, `"stars": 4`) {
		t.Fatalf("ratings --json = %q, %v", out, err)
	}
	if err := c.do("POST", "/api/v1/admin/reputation:recompute", nil, nil, nil); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, ctx, append([]string{"reputation", "show", "agt_b", "--json"}, public...)...); err != nil || !strings.Contains(out, `"tier": "New"`) || strings.Contains(out, "provisional") {
		t.Fatalf("show --json after a pass = %q, %v", out, err)
	}
	if _, err := run(t, ctx, append([]string{"reputation", "show", "agt_nobody"}, public...)...); err == nil || !strings.Contains(err.Error(), "AGENT_NOT_FOUND") {
		t.Fatalf("unknown agent: %v", err)
	}
}
