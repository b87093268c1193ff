package server_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/store/storetest"
)

// govStack prepares a stack for governance: voting lasts 2 s and the timelock 2 s (set by the
// admin while no proposal exists); agt_p (Trusted, 1,000 AVT staked) proposes; agt_v runs a
// validator (2,000 AVT) to which agt_d delegates 500 AVT; agt_n is Trusted without stake; agt_low
// is New with 1,000 AVT staked.
func govStack(t *testing.T, s *stack) {
	t.Helper()
	s.wallets("20000", "agt_p", "agt_v", "agt_d", "agt_n", "agt_low")
	cur := s.do("GET", "/api/v1/teg/params", nil).want(t, 200, "")
	body := editable(t, cur, cur.Body["version"].(float64))
	g := body["governance"].(map[string]any)
	if g["deposit"] != "100" || g["voting_seconds"] != float64(604800) || g["timelock_seconds"] != float64(86400) || g["quorum_bps"] != float64(2000) ||
		g["threshold_bps"] != float64(6670) || g["veto_bps"] != float64(3340) {
		t.Fatalf("governance defaults = %v", g)
	}
	g["voting_seconds"], g["timelock_seconds"] = 2, 2
	s.do("PUT", "/api/v1/admin/teg/params", body, bearer(s.adminKey)).want(t, 200, "")
	err := s.server.Reputation().Store.PutScores(context.Background(), []reputation.StoredScore{
		{Agent: "agt_p", Score: 450, ComputedAt: time.Now()}, {Agent: "agt_n", Score: 450, ComputedAt: time.Now()},
		{Agent: "agt_v", Score: 750, ComputedAt: time.Now()}, {Agent: "agt_low", Score: 150, ComputedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	s.do("POST", "/api/v1/staking/stake", map[string]any{"amount": "1000"}, s.agentToken("agt_p", "")).want(t, 201, "")
	s.do("POST", "/api/v1/staking/stake", map[string]any{"amount": "1000"}, s.agentToken("agt_low", "")).want(t, 201, "")
	s.do("POST", "/api/v1/staking/validators", map[string]any{"self_stake": "2000"}, s.agentToken("agt_v", "")).want(t, 201, "")
	s.do("POST", "/api/v1/staking/delegate", map[string]any{"validator": "agt_v", "amount": "500"}, s.agentToken("agt_d", "")).want(t, 201, "")
}

// waitStatus waits (up to 10 s) for the server's scheduler to bring proposal id to status.
func (s *stack) waitStatus(id float64, status string) resp {
	s.t.Helper()
	path := fmt.Sprintf("/api/v1/governance/proposals/%d", int(id))
	for range 200 {
		r := s.do("GET", path, nil, s.agentToken("agt_d", "")).want(s.t, 200, "")
		if r.str("status") == status {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := s.do("GET", path, nil, s.agentToken("agt_d", ""))
	s.t.Fatalf("proposal %d never became %s: %s", int(id), status, r.Raw)
	return r
}

// A fee change, a policy module, a vetoed proposal, a treasury spend and a mint, through the
// routes: each refusal has its code and moves nothing; the server's scheduler closes and (after
// the timelock) executes the passed ones once; the next transfer pays the new fee, the new
// module decides without a restart, the veto burns the deposit, the spend and the mint move
// their tokens, the admin's parameter route is closed, and teg verify passes.
func TestGovernance_Routes(t *testing.T) {
	authzRego, err := os.ReadFile("../policy/rego/authz.rego")
	if err != nil {
		t.Fatal(err)
	}
	eachStack(t, func(t *testing.T, s *stack) {
		govStack(t, s)
		admin := bearer(s.adminKey)
		p, v, d, n, low := s.agentToken("agt_p", ""), s.agentToken("agt_v", ""), s.agentToken("agt_d", ""), s.agentToken("agt_n", ""), s.agentToken("agt_low", "")
		const props = "/api/v1/governance/proposals"
		fee := map[string]any{"kind": "param_change", "title": "halve the fee", "changes": map[string]any{"fee.rate_bps": 5}}
		balance := func(account string) string {
			return s.do("GET", "/api/v1/token/balance?account="+account, nil, admin).want(t, 200, "").str("liquid")
		}
		pLiquid := balance("agt_p")

		// Who may propose: the policy decides (tier, stake, kind of subject).
		s.do("POST", props, fee).want(t, 401, "AUTHENTICATION_REQUIRED")
		if r := s.do("POST", props, fee, low).want(t, 403, "FORBIDDEN"); !strings.Contains(string(r.Raw), "Trusted tier") {
			t.Fatalf("New tier: %s", r.Raw)
		}
		if r := s.do("POST", props, fee, n).want(t, 403, "FORBIDDEN"); !strings.Contains(string(r.Raw), "stake of at least 1000") {
			t.Fatalf("no stake: %s", r.Raw)
		}
		s.do("POST", props, fee, admin).want(t, 403, "FORBIDDEN")
		// Bad input: each its code.
		bad := []struct {
			body   map[string]any
			status int
			code   string
		}{
			{map[string]any{"kind": "param_change", "title": "x", "changes": map[string]any{"fee.colour": 1}}, 422, "PARAM_UNKNOWN"},
			{map[string]any{"kind": "param_change", "title": "x", "changes": map[string]any{"fee.rate_bps": 10001}}, 422, "PARAM_OUT_OF_BOUNDS"},
			{map[string]any{"kind": "param_change", "title": "x", "changes": map[string]any{"governance.voting_seconds": -1}}, 422, "PARAM_OUT_OF_BOUNDS"},
			{map[string]any{"kind": "param_change", "title": "x"}, 422, "INVALID_PROPOSAL"},
			{map[string]any{"kind": "mint", "title": "x", "amount": "5", "deposit": "99"}, 422, "PROPOSAL_DEPOSIT_TOO_LOW"},
			{map[string]any{"kind": "mint", "title": "x", "amount": "5", "deposit": "0"}, 422, "PROPOSAL_DEPOSIT_TOO_LOW"},
			{map[string]any{"kind": "mint", "title": "x", "amount": "5", "deposit": "1e3"}, 422, "INVALID_AMOUNT"},
			{map[string]any{"kind": "veto", "title": "x"}, 422, "INVALID_FIELD"},
			{map[string]any{"kind": "mint", "title": "x", "amount": "5", "deposit": "900000"}, 422, "INSUFFICIENT_BALANCE"},
			{map[string]any{"kind": "treasury_spend", "title": "x", "amount": "5", "to": "sys:burn"}, 422, "INVALID_PROPOSAL"},
			{map[string]any{"kind": "mint", "title": "x", "amount": "0"}, 422, "INVALID_AMOUNT"},
			{map[string]any{"kind": "policy_module", "title": "x", "module": "authz.rego", "rego": "package sovereign.authz\nallow if {", "tests": "package t\ntest_a if true"}, 422, "POLICY_MODULE_INVALID"},
			{map[string]any{"kind": "policy_module", "title": "x", "module": "authz.rego", "rego": string(authzRego), "tests": "package t\ntest_a if false"}, 422, "POLICY_TESTS_FAILED"},
			{map[string]any{"kind": "policy_module", "title": "x", "module": "authz.rego", "rego": string(authzRego)}, 422, "POLICY_TESTS_FAILED"},
			{map[string]any{"kind": "policy_module", "title": "x", "module": "../x.rego", "rego": "package x", "tests": "package t"}, 422, "INVALID_PROPOSAL"},
		}
		for _, b := range bad {
			s.do("POST", props, b.body, p).want(t, b.status, b.code)
		}
		if got := balance("agt_p"); got != pLiquid {
			t.Fatalf("refused proposals moved AVT: %s → %s", pLiquid, got)
		}
		if l := s.do("GET", props, nil).want(t, 200, ""); len(l.Body["items"].([]any)) != 0 {
			t.Fatalf("refused proposals were recorded: %s", l.Raw)
		}

		// The proposals.
		r1 := s.do("POST", props, fee, p, hdr{"Idempotency-Key", "fee-1"}).want(t, 201, "")
		if r1.Body["id"] != float64(1) || r1.str("status") != "voting" || r1.str("deposit") != "100" || r1.str("proposer") != "agt_p" {
			t.Fatalf("proposal = %s", r1.Raw)
		}
		if r := s.do("POST", props, fee, p, hdr{"Idempotency-Key", "fee-1"}).want(t, 200, ""); r.Body["id"] != float64(1) || r.Body["replayed"] != true {
			t.Fatalf("replay = %s", r.Raw)
		}
		// The module: authz.rego with governance's records no longer public.
		closed := strings.Replace(string(authzRego), `"governance.read": {"public": true}`, `"governance.read": {"subjects": ["agent", "developer"], "scope": "read"}`, 1)
		tests := "package gov_closed_test\nimport data.sovereign.authz\ntest_reads_need_authentication if {\n\tnot authz.allow with input as {\"subject\": {\"kind\": \"anonymous\"}, \"action\": \"governance.read\", \"resource\": {\"kind\": \"proposal\"}}\n}\n"
		r2 := s.do("POST", props, map[string]any{"kind": "policy_module", "title": "close the records", "module": "authz.rego", "rego": closed, "tests": tests}, p).want(t, 201, "")
		r3 := s.do("POST", props, map[string]any{"kind": "mint", "title": "veto me", "amount": "5"}, p).want(t, 201, "")
		r4 := s.do("POST", props, map[string]any{"kind": "treasury_spend", "title": "tooling grant", "to": "agt_n", "amount": "250", "reason": "tooling"}, p).want(t, 201, "")
		r5 := s.do("POST", props, map[string]any{"kind": "mint", "title": "grants budget", "amount": "777", "deposit": "150"}, p).want(t, 201, "")
		if got := balance("sys:gov_deposits"); got != "550" {
			t.Fatalf("escrow = %s", got)
		}
		// The admin's parameter route is closed now.
		cur := s.do("GET", "/api/v1/teg/params", nil).want(t, 200, "")
		s.do("PUT", "/api/v1/admin/teg/params", editable(t, cur, cur.Body["version"].(float64)), admin).want(t, 409, "PARAMS_GOVERNED")

		// Votes: who may vote is the policy's; the ledger checks stake and changes.
		vote := func(id float64, option string, who ...hdr) resp {
			return s.do("POST", fmt.Sprintf("%s/%d/votes", props, int(id)), map[string]any{"option": option}, who...)
		}
		vote(1, "no", v).want(t, 201, "")
		if r := vote(1, "yes", v).want(t, 201, ""); r.str("kind") != "gov_vote" || r.str("from") != "agt_v" {
			t.Fatalf("vote = %s", r.Raw)
		}
		vote(1, "yes", v).want(t, 409, "VOTE_UNCHANGED")
		vote(1, "yes", n).want(t, 403, "NO_VOTING_POWER")
		vote(1, "yes", admin).want(t, 403, "FORBIDDEN")
		vote(1, "yes").want(t, 401, "AUTHENTICATION_REQUIRED")
		vote(1, "maybe", v).want(t, 422, "INVALID_VOTE")
		vote(99, "yes", v).want(t, 404, "PROPOSAL_NOT_FOUND")
		s.do("POST", props+"/x/votes", map[string]any{"option": "yes"}, v).want(t, 404, "PROPOSAL_NOT_FOUND")
		for _, id := range []float64{r2.Body["id"].(float64), r4.Body["id"].(float64), r5.Body["id"].(float64)} {
			vote(id, "yes", v).want(t, 201, "")
		}
		vote(r3.Body["id"].(float64), "veto", v).want(t, 201, "")
		vote(r3.Body["id"].(float64), "yes", d).want(t, 201, "") // its own vote overrides its validator's for its 500
		// The live tally: agt_d inherits agt_v's yes on proposal 1.
		tl := s.do("GET", props+"/1/tally", nil).want(t, 200, "")
		if tl.str("yes") != "2500" || tl.str("bonded") != "4500" || tl.Body["final"] != false || tl.str("outcome") != "passed" || tl.Body["quorum"] != true {
			t.Fatalf("live tally = %s", tl.Raw)
		}
		if tl := s.do("GET", fmt.Sprintf("%s/%d/tally", props, int(r3.Body["id"].(float64))), nil).want(t, 200, ""); tl.str("veto") != "2000" || tl.str("yes") != "500" || tl.str("outcome") != "vetoed" {
			t.Fatalf("veto tally = %s", tl.Raw)
		}
		s.do("GET", props+"/99/tally", nil).want(t, 404, "PROPOSAL_NOT_FOUND")
		if l := s.do("GET", props+"?status=voting&limit=2", nil).want(t, 200, ""); len(l.Body["items"].([]any)) != 2 || l.Body["items"].([]any)[0].(map[string]any)["id"] != float64(5) || l.str("next_cursor") == "" {
			t.Fatalf("list = %s", l.Raw)
		}

		// The voting ends; the server's scheduler closes them.
		s.waitStatus(1, "passed")
		vote(1, "no", d).want(t, 409, "VOTING_ENDED")
		s.do("POST", props+"/1:execute", nil, p).want(t, 409, "TIMELOCK_NOT_EXPIRED")
		s.do("POST", props+"/1:execute", nil).want(t, 401, "AUTHENTICATION_REQUIRED")
		s.do("POST", props+"/1:frobnicate", nil, p).want(t, 404, "NOT_FOUND")
		vetoed := s.waitStatus(r3.Body["id"].(float64), "vetoed")
		if tally := vetoed.Body["tally"].(map[string]any); tally["veto"] != "2000" {
			t.Fatalf("vetoed = %s", vetoed.Raw)
		}
		s.do("POST", fmt.Sprintf("%s/%d:execute", props, int(r3.Body["id"].(float64))), nil, p).want(t, 409, "PROPOSAL_NOT_PASSED")
		if got := balance("sys:burn"); got != "100" {
			t.Fatalf("burnt %s, want the vetoed deposit (100)", got)
		}

		ex := s.waitStatus(1, "executed")
		if ex.str("executed_at") == "" {
			t.Fatalf("executed = %s", ex.Raw)
		}
		s.do("POST", props+"/1:execute", nil, p).want(t, 409, "PROPOSAL_ALREADY_EXECUTED")
		// The next transfer pays the new fee: 5 basis points of 100 AVT (it was 10).
		if tr := s.do("POST", "/api/v1/token/transfer", map[string]any{"to": "agt_n", "amount": "100"}, d).want(t, 201, ""); tr.str("fee") != "0.05" {
			t.Fatalf("transfer after the fee change = %s", tr.Raw)
		}
		if pr := s.do("GET", "/api/v1/teg/params", nil).want(t, 200, ""); pr.Body["fee_rate_bps"] != float64(5) || pr.Body["version"] != float64(3) {
			t.Fatalf("params = %s", pr.Raw)
		}
		s.waitStatus(r4.Body["id"].(float64), "executed")
		s.waitStatus(r5.Body["id"].(float64), "executed")
		// The module decides now, without a restart: anonymous reads are refused, signed-in ones not.
		deadline := time.Now().Add(5 * time.Second)
		for s.do("GET", props, nil).Status != 401 {
			if time.Now().After(deadline) {
				t.Fatal("the passed policy module never took effect")
			}
			time.Sleep(50 * time.Millisecond)
		}
		s.waitStatus(r2.Body["id"].(float64), "executed")
		s.do("GET", props, nil, p).want(t, 200, "")
		if m := s.do("GET", "/api/v1/governance/policy", nil, p).want(t, 200, ""); !strings.Contains(string(m.Raw), "authz.rego") {
			t.Fatalf("modules = %s", m.Raw)
		}
		// Spend and mint moved their tokens; every deposit but the vetoed one came back.
		if got := balance("agt_n"); got != "20350" {
			t.Fatalf("agt_n = %s, want 20000 + 250 spent + 100 transferred", got)
		}
		if got := balance("sys:gov_deposits"); got != "0" {
			t.Fatalf("escrow = %s after the close", got)
		}
		rep, err := s.server.Ledger().Verify(context.Background())
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if want, _ := rep.Minted.Sub(rep.Burned); rep.Supply != want || rep.Minted.String() != "1000777" {
			t.Fatalf("supply %s, minted %s, burned %s", rep.Supply, rep.Minted, rep.Burned)
		}
	})
}

// TestGovernance_PolicyModuleReachesEveryReplica: two servers on one PostgreSQL database; a policy
// module proposed and passed through the first is executed once and changes the second's
// decisions too, within seconds and without a restart.
func TestGovernance_PolicyModuleReachesEveryReplica(t *testing.T) {
	authzRego, err := os.ReadFile("../policy/rego/authz.rego")
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.Postgres(t)
	a := newStack(t, db)
	govStack(t, a)
	b := newStack(t, db)
	closed := strings.Replace(string(authzRego), `"governance.read": {"public": true}`, `"governance.read": {"subjects": ["agent", "developer"], "scope": "read"}`, 1)
	tests := "package gov_closed_test\nimport data.sovereign.authz\ntest_reads_need_authentication if {\n\tnot authz.allow with input as {\"subject\": {\"kind\": \"anonymous\"}, \"action\": \"governance.read\", \"resource\": {\"kind\": \"proposal\"}}\n}\n"
	p := a.do("POST", "/api/v1/governance/proposals", map[string]any{"kind": "policy_module", "title": "close the records", "module": "authz.rego", "rego": closed, "tests": tests},
		a.agentToken("agt_p", "")).want(t, 201, "")
	b.do("POST", fmt.Sprintf("/api/v1/governance/proposals/%d/votes", int(p.Body["id"].(float64))), map[string]any{"option": "yes"}, b.agentToken("agt_v", "")).want(t, 201, "")
	b.do("GET", "/api/v1/governance/proposals", nil).want(t, 200, "")
	a.waitStatus(p.Body["id"].(float64), "executed")
	for _, s := range []*stack{a, b} {
		deadline := time.Now().Add(5 * time.Second)
		for s.do("GET", "/api/v1/governance/proposals", nil).Status != 401 {
			if time.Now().After(deadline) {
				t.Fatal("a replica never loaded the passed policy module")
			}
			time.Sleep(50 * time.Millisecond)
		}
		s.do("GET", "/api/v1/governance/proposals", nil, s.agentToken("agt_d", "")).want(t, 200, "")
	}
	if n := strings.Count(a.logText()+b.logText(), `"proposals_executed":1`); n != 1 {
		t.Fatalf("the proposal was executed %d times by the replicas' schedulers (logs)", n)
	}
}
