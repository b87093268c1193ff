package main

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/server"
	"github.com/sovereign-stack/sovereign/teg"
)

// fundAgents mints 100,000 AVT (as the admin), opens a wallet for each agent and grants it
// amount.
func fundAgents(t *testing.T, srv *server.Server, hs *httptest.Server, amount string, agents ...string) {
	t.Helper()
	admin := &apiClient{base: hs.URL, credential: srv.AdminKey, http: hs.Client()}
	if err := admin.do("POST", "/api/v1/token/mint", nil, map[string]string{"amount": "100000"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		if err := admin.do("POST", "/api/v1/admin/teg/accounts", nil, map[string]string{"agent_id": a}, nil); err != nil {
			t.Fatal(err)
		}
		if err := admin.do("POST", "/api/v1/token/grant", nil, map[string]string{"to": a, "amount": amount}, nil); err != nil {
			t.Fatal(err)
		}
	}
}

// agentSVID mints a JWT-SVID for agent with the stack's issuer.
func agentSVID(t *testing.T, srv *server.Server, agent string) string {
	t.Helper()
	iss := srv.Issuer()
	id, _ := identity.AgentID(iss.TrustDomain(), agent)
	aud, _ := identity.TEGID(iss.TrustDomain())
	tok, err := iss.MintJWTSVID(context.Background(), id, []string{aud.String()}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestStakeAndValidatorCommands_AgainstARunningStack(t *testing.T) {
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	t.Setenv("HOME", t.TempDir()) // no stored agent credentials
	srv, hs := startStack(t)
	ctx := context.Background()
	fundAgents(t, srv, hs, "3000", "agt_val", "agt_v2", "agt_a")
	admin := &apiClient{base: hs.URL, credential: srv.AdminKey, http: hs.Client()}
	conn := func(tok string) []string { return []string{"--registry", hs.URL, "--credential", tok} }
	val, v2, a := conn(agentSVID(t, srv, "agt_val")), conn(agentSVID(t, srv, "agt_v2")), conn(agentSVID(t, srv, "agt_a"))
	asAdmin := conn(srv.AdminKey)
	must := func(want string, args ...string) string {
		t.Helper()
		out, err := run(t, ctx, args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("%v = %q, %v; want %q", args, out, err, want)
		}
		return out
	}
	// failsWith runs a command that must fail with an error naming each of want (the code, and
	// the details that matter).
	failsWith := func(want []string, args ...string) {
		t.Helper()
		out, err := run(t, ctx, args...)
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Fatalf("%v = %q, %v; want an error with %q", args, out, err, w)
			}
		}
	}
	fails := func(code string, args ...string) { t.Helper(); failsWith([]string{code}, args...) }
	with := func(base []string, args ...string) []string { return append(append([]string{}, args...), base...) }

	must("no validators yet", "validator", "list", "--registry", hs.URL)
	must("validator_create", with(val, "validator", "create", "--self-stake", "1000", "--idempotency-key", "vc-1")...)
	must("(replayed)", with(val, "validator", "create", "--self-stake", "1000", "--idempotency-key", "vc-1")...)
	fails("VALIDATOR_EXISTS", with(val, "validator", "create", "--self-stake", "1000")...)
	failsWith([]string{"SELF_STAKE_BELOW_MINIMUM", "self_stake", "1000"}, with(v2, "validator", "create", "--self-stake", "999")...)
	fails("--self-stake \"1e3\"", with(v2, "validator", "create", "--self-stake", "1e3")...)
	must("validator_create", with(v2, "validator", "create", "--self-stake", "1000", "--commission-bps", "500")...)
	must("agt_val              stake 1000 AVT (self 1000), commission 10 %, 1 delegators, uptime 100 %, active", "validator", "show", "agt_val", "--registry", hs.URL)
	fails("VALIDATOR_NOT_FOUND", "validator", "show", "agt_a", "--registry", hs.URL)
	var list struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal([]byte(must(`"commission_bps": 500`, "validator", "list", "--json", "--registry", hs.URL)), &list); err != nil || len(list.Items) != 2 {
		t.Fatalf("validator list --json: %v %v", list, err)
	}

	must("stake    50 AVT", with(a, "stake", "deposit", "--amount", "50")...)
	failsWith([]string{"STAKE_BELOW_MINIMUM", "amount", "minimum", "10"}, with(a, "stake", "deposit", "--amount", "5")...)
	fails("INSUFFICIENT_BALANCE", with(a, "stake", "deposit", "--amount", "5000")...)
	must("agt_a → agt_val", with(a, "stake", "delegate", "--validator", "agt_val", "--amount", "100")...)
	fails("VALIDATOR_NOT_FOUND", with(a, "stake", "delegate", "--validator", "agt_a", "--amount", "100")...)
	fails(`required flag(s) "validator" not set`, with(a, "stake", "delegate", "--amount", "100")...)
	fails("FORBIDDEN", with(a, "stake", "deposit", "--amount", "10", "--agent", "agt_val")...)
	must("unstake  20 AVT", with(a, "stake", "withdraw", "--amount", "20")...)
	fails("UNSTAKE_EXCEEDS_STAKE", with(a, "stake", "withdraw", "--amount", "31")...)
	must("redelegate 50 AVT", with(a, "stake", "redelegate", "--from", "agt_val", "--to", "agt_v2", "--amount", "50")...)
	fails("REDELEGATION_IN_PROGRESS", with(a, "stake", "redelegate", "--from", "agt_v2", "--to", "agt_val", "--amount", "20")...)
	must("unstake  10 AVT", with(a, "stake", "undelegate", "--validator", "agt_v2", "--amount", "10")...)
	out := must("agt_a: liquid 2850, staked 120, unbonding 30, rewards 0 AVT (epoch 0)", with(a, "stake", "balance")...)
	for _, want := range []string{"delegation agt_val", "delegation agt_v2", "delegation passive", "unbonding  passive              20 AVT"} {
		if !strings.Contains(out, want) {
			t.Fatalf("stake balance lacks %q:\n%s", want, out)
		}
	}
	fails("FORBIDDEN", with(a, "stake", "balance", "--agent", "agt_val")...)
	must(`"staked": "120"`, with(asAdmin, "stake", "balance", "--agent", "agt_a", "--json")...)

	must("validator_edit", with(val, "validator", "edit", "--commission-bps", "1050")...)
	fails("COMMISSION_CHANGE_TOO_SOON", with(val, "validator", "edit", "--commission-bps", "1100")...)
	fails("COMMISSION_CHANGE_TOO_LARGE", with(v2, "validator", "edit", "agt_v2", "--commission-bps", "700")...)
	fails("FORBIDDEN", with(a, "validator", "edit", "agt_val", "--commission-bps", "1000")...)
	fails("VALIDATOR_NOT_JAILED", with(val, "validator", "unjail")...)

	must("agt_a: 0 AVT to claim", with(a, "stake", "rewards")...)
	fails("NOTHING_TO_CLAIM", with(a, "stake", "claim")...)
	// Epochs of a second from here on: the first is due a second after the first stake, and
	// paid (by the server's scheduler, or this run of it).
	var params map[string]any
	if err := admin.do("GET", "/api/v1/teg/params", nil, nil, &params); err != nil {
		t.Fatal(err)
	}
	params["base_version"] = params["version"]
	params["staking"].(map[string]any)["epoch_seconds"] = 1
	if err := admin.do("PUT", "/api/v1/admin/teg/params", nil, params, nil); err != nil {
		t.Fatal(err)
	}
	var ep struct {
		NextDueAt time.Time `json:"next_due_at"`
	}
	if err := admin.do("GET", "/api/v1/staking/epoch", nil, nil, &ep); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(ep.NextDueAt) + 10*time.Millisecond)
	if _, _, err := (&teg.Scheduler{Store: srv.Ledger()}).RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	var r struct {
		Total string `json:"total"`
	}
	if err := json.Unmarshal([]byte(must(`"total"`, with(a, "stake", "rewards", "--json")...)), &r); err != nil || r.Total == "0" {
		t.Fatalf("rewards after an epoch: %+v %v", r, err)
	}
	must("claim", with(a, "stake", "claim", "--validator", "agt_val")...)
	must("compound", with(a, "stake", "compound", "on", "--validator", "agt_val")...)
	fails(`invalid argument "maybe"`, with(a, "stake", "compound", "maybe")...)
	fails("DELEGATION_NOT_FOUND", with(val, "stake", "compound", "on", "--validator", "agt_v2")...)
	must("auto-compound", with(a, "stake", "balance")...)
	must(`"kind": "claim"`, with(val, "stake", "claim", "--json")...)
	fails("no credential", "stake", "balance", "--registry", hs.URL)
}
