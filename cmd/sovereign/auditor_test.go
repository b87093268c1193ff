package main

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/server"
)

// walletStack starts a stack without credentials in the environment, with a wallet of grant
// AVT for each agent, and returns a JWT-SVID client of each agent by id.
func walletStack(t *testing.T, grant string, agents ...string) (*server.Server, *httptest.Server, map[string]*apiClient) {
	t.Helper()
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	srv, hs := startStack(t)
	c := &apiClient{base: hs.URL, credential: srv.AdminKey, http: hs.Client()}
	if err := c.do("POST", "/api/v1/token/mint", nil, map[string]string{"amount": "1000"}, nil); err != nil {
		t.Fatal(err)
	}
	iss := srv.Issuer()
	aud, _ := identity.TEGID(iss.TrustDomain())
	clients := map[string]*apiClient{}
	for _, a := range agents {
		if err := c.do("POST", "/api/v1/admin/teg/accounts", nil, map[string]string{"agent_id": a}, nil); err != nil {
			t.Fatal(err)
		}
		if grant != "0" {
			if err := c.do("POST", "/api/v1/token/grant", nil, map[string]string{"to": a, "amount": grant}, nil); err != nil {
				t.Fatal(err)
			}
		}
		id, _ := identity.AgentID(iss.TrustDomain(), a)
		tok, err := iss.MintJWTSVID(context.Background(), id, []string{aud.String()}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		clients[a] = &apiClient{base: hs.URL, credential: tok, http: hs.Client()}
	}
	return srv, hs, clients
}

func TestAuditorCommands_AgainstARunningStack(t *testing.T) {
	ring := []string{"agt_a", "agt_b", "agt_c"}
	srv, hs, agents := walletStack(t, "100", ring...)
	ctx := context.Background()
	for i, a := range ring {
		amount := []string{"10", "9", "8"}[i]
		if err := agents[a].do("POST", "/api/v1/token/transfer", nil, map[string]string{"to": ring[(i+1)%3], "amount": amount}, nil); err != nil {
			t.Fatal(err)
		}
	}
	admin := []string{"--registry", hs.URL, "--credential", srv.AdminKey}
	var out string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var err error
		if out, err = run(t, ctx, append([]string{"auditor", "flags", "--status", "NEW"}, admin...)...); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "CIRCULAR_FLOW") || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(out, "CIRCULAR_FLOW") || !strings.Contains(out, "subject agt_a") {
		t.Fatalf("flags = %q", out)
	}
	id := strings.Fields(out)[0]
	if out, err := run(t, ctx, append([]string{"auditor", "ack", id, "--note", "looking"}, admin...)...); err != nil || !strings.Contains(out, "ACKNOWLEDGED") {
		t.Fatalf("ack = %q, %v", out, err)
	}
	if _, err := run(t, ctx, append([]string{"auditor", "ack", id}, admin...)...); err == nil || !strings.Contains(err.Error(), "FLAG_TRANSITION_INVALID") {
		t.Fatalf("second ack: %v", err)
	}
	if _, err := run(t, ctx, append([]string{"auditor", "escalate", id, "jail"}, admin...)...); err == nil || !strings.Contains(err.Error(), "INVALID_ESCALATION") {
		t.Fatalf("escalate to an unknown target: %v", err)
	}
	if out, err := run(t, ctx, append([]string{"auditor", "resolve", id, "confirmed"}, admin...)...); err != nil || !strings.Contains(out, "RESOLVED") || !strings.Contains(out, "confirmed") {
		t.Fatalf("resolve = %q, %v", out, err)
	}
	if out, err := run(t, ctx, append([]string{"auditor", "flags", id}, admin...)...); err != nil || !strings.Contains(out, "RESOLVED") {
		t.Fatalf("flags <id> = %q, %v", out, err)
	}
	if _, err := run(t, ctx, append([]string{"auditor", "escalate", id, "suspension"}, admin...)...); err == nil || !strings.Contains(err.Error(), "FLAG_TRANSITION_INVALID") {
		t.Fatalf("escalate a resolved flag: %v", err)
	}
	out, err := run(t, ctx, append([]string{"auditor", "rules", "--disable", "RATING_RING", "--set", "velocity_count=200"}, admin...)...)
	if err != nil || !strings.Contains(out, "RATING_RING     disabled") || !strings.Contains(out, "velocity_count     200") {
		t.Fatalf("rules = %q, %v", out, err)
	}
	if _, err := run(t, ctx, append([]string{"auditor", "rules", "--set", "velocity_count=0"}, admin...)...); err == nil || !strings.Contains(err.Error(), "INVALID_AUDITOR_PARAMS") {
		t.Fatalf("bad threshold: %v", err)
	}
	if _, err := run(t, ctx, append([]string{"auditor", "rules", "--set", "nope=1"}, admin...)...); err == nil {
		t.Fatal("unknown threshold accepted")
	}
}
