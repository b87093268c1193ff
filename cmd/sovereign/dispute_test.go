package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestDisputeCommands_AgainstARunningStack(t *testing.T) {
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	t.Setenv("HOME", t.TempDir())
	srv, hs := startStack(t)
	ctx := context.Background()
	admin := &apiClient{base: hs.URL, credential: srv.AdminKey, http: hs.Client()}
	if err := admin.do("POST", "/api/v1/token/mint", nil, map[string]string{"amount": "100000"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"agt_payer", "agt_provider"} {
		if err := admin.do("POST", "/api/v1/admin/teg/accounts", nil, map[string]string{"agent_id": a}, nil); err != nil {
			t.Fatal(err)
		}
		if err := admin.do("POST", "/api/v1/token/grant", nil, map[string]string{"to": a, "amount": "100"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	conn := func(tok string) []string { return []string{"--registry", hs.URL, "--credential", tok} }
	payer, provider := conn(agentSVID(t, srv, "agt_payer")), conn(agentSVID(t, srv, "agt_provider"))
	var hold struct {
		ID string `json:"id"`
	}
	payerAPI := &apiClient{base: hs.URL, credential: agentSVID(t, srv, "agt_payer"), http: hs.Client()}
	if err := payerAPI.do("POST", "/api/v1/token/pending", nil, map[string]any{"to": "agt_provider", "amount": "5"}, &hold); err != nil {
		t.Fatal(err)
	}
	with := func(base []string, args ...string) []string { return append(append([]string{}, args...), base...) }
	must := func(want string, args ...string) string {
		t.Helper()
		out, err := run(t, ctx, args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("%v = %q, %v; want %q", args, out, err, want)
		}
		return out
	}
	fails := func(code string, args ...string) {
		t.Helper()
		if out, err := run(t, ctx, args...); err == nil || !strings.Contains(err.Error(), code) {
			t.Fatalf("%v = %q, %v; want %s", args, out, err, code)
		}
	}

	fails("DISPUTE_AGAINST_SELF", with(payer, "dispute", "file", "--against", "agt_payer", "--category", "other")...)
	fails("name the other party", with(payer, "dispute", "file", "--category", "other")...)
	fails("INVALID_FIELD", with(payer, "dispute", "file", "--against", "agt_provider", "--category", "bogus")...)
	out := must(`"frozen": true`, with(payer, "dispute", "file", "--transfer", hold.ID, "--category", "failed_service", "--claim", "it failed", "--json")...)
	must("(frozen)", with(payer, "dispute", "list")...)
	var d struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Frozen bool   `json:"frozen"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil || d.State != "OPEN" || !d.Frozen {
		t.Fatalf("file --json = %s (%v)", out, err)
	}
	must("EVIDENCE", with(payer, "dispute", "evidence", d.ID, "--hash", "9f86d081", "--uri", "https://logs.example/1")...)
	must("EVIDENCE", with(provider, "dispute", "evidence", d.ID, "--text", "the input was malformed")...)
	fails("EVIDENCE_EMPTY", with(provider, "dispute", "evidence", d.ID)...)
	show := must(`evidence 2 by agt_provider`, with(provider, "dispute", "show", d.ID)...)
	if !strings.Contains(show, `claim: it failed`) || !strings.Contains(show, `evidence 1 by agt_payer`) {
		t.Fatalf("show = %s", show)
	}
	must(d.ID, with(provider, "dispute", "list")...)
	must("no disputes", with(provider, "dispute", "list", "--state", "closed")...)
	fails("DISPUTE_INVALID_STATE", with(provider, "dispute", "commit", d.ID, "--vote", "respondent")...)
	fails("--vote \"maybe\"", with(provider, "dispute", "commit", d.ID, "--vote", "maybe")...)
	fails("DISPUTE_INVALID_STATE", with(provider, "dispute", "reveal", d.ID, "--vote", "respondent", "--salt", "x")...)
	fails("DISPUTE_INVALID_STATE", with(provider, "dispute", "appeal", d.ID)...)
	fails("DISPUTE_NOT_FILER", with(provider, "dispute", "withdraw", d.ID)...)
	must("WITHDRAWN", with(payer, "dispute", "withdraw", d.ID)...)
	fails("DISPUTE_CLOSED", with(payer, "dispute", "withdraw", d.ID)...)
	fails("DISPUTE_NOT_FOUND", with(payer, "dispute", "show", "dsp_nope")...)
}
