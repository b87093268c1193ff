package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sovereign-stack/sovereign/reputation"
)

// TestGovernCommands_AgainstARunningStack: an admin shortens the voting period while no proposal
// exists; a Trusted agent with stake proposes a fee change; a validator votes; tally, show and
// list print it; the voting ends, the ledger executes it after the timelock, and the fee is the
// new one. Refusals print their codes.
func TestGovernCommands_AgainstARunningStack(t *testing.T) {
	t.Setenv("SOVEREIGN_TOKEN", "")
	t.Setenv("SOVEREIGN_API_KEY", "")
	t.Setenv("HOME", t.TempDir())
	srv, hs := startStack(t)
	ctx := context.Background()
	fundAgents(t, srv, hs, "5000", "agt_p", "agt_v", "agt_n")
	if err := srv.Reputation().Store.PutScores(ctx, []reputation.StoredScore{{Agent: "agt_p", Score: 500, ComputedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	conn := func(tok string) []string { return []string{"--registry", hs.URL, "--credential", tok} }
	p, v, n := conn(agentSVID(t, srv, "agt_p")), conn(agentSVID(t, srv, "agt_v")), conn(agentSVID(t, srv, "agt_n"))
	with := func(base []string, args ...string) []string { return append(append([]string{}, args...), base...) }
	must := func(want string, args ...string) string {
		t.Helper()
		out, err := run(t, ctx, args...)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("%v = %q, %v; want %q", args, out, err, want)
		}
		return out
	}
	fails := func(want string, args ...string) {
		t.Helper()
		out, err := run(t, ctx, args...)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%v = %q, %v; want an error with %q", args, out, err, want)
		}
	}
	must("version 2", with(conn(srv.AdminKey), "teg", "params", "set", "governance.voting_seconds=2", "governance.timelock_seconds=1")...)
	must("stake", with(p, "stake", "deposit", "--amount", "1000")...)
	must("validator_create", with(v, "validator", "create", "--self-stake", "2000")...)

	fails("--change \"fee.rate_bps\"", with(p, "govern", "create-proposal", "--kind", "param_change", "--title", "x", "--change", "fee.rate_bps")...)
	fails("PARAM_UNKNOWN", with(p, "govern", "create-proposal", "--kind", "param_change", "--title", "x", "--change", "fee.colour=5")...)
	fails("PARAM_OUT_OF_BOUNDS", with(p, "govern", "create-proposal", "--kind", "param_change", "--title", "x", "--change", "fee.rate_bps=20000")...)
	fails("FORBIDDEN", with(n, "govern", "create-proposal", "--kind", "param_change", "--title", "x", "--change", "fee.rate_bps=5")...)
	must(`#1 voting   "halve the fee" by agt_p: param_change fee.rate_bps=5 (deposit 100 AVT`,
		with(p, "govern", "create-proposal", "--kind", "param_change", "--title", "halve the fee", "--change", "fee.rate_bps=5")...)
	must("voted yes on #1", with(v, "govern", "vote", "1", "yes")...)
	fails("VOTE_UNCHANGED", with(v, "govern", "vote", "1", "yes")...)
	fails("NO_VOTING_POWER", with(n, "govern", "vote", "1", "yes")...)
	must("#1 voting, live tally: yes 2000, no 0, abstain 0, veto 0 AVT of 3000 bonded (voted 2000; quorum true) → passed", "govern", "tally", "1", "--registry", hs.URL)
	must("#1 voting", "govern", "list", "--registry", hs.URL)
	must("no proposals", "govern", "list", "--status", "executed", "--registry", hs.URL)
	fails("PROPOSAL_NOT_FOUND", "govern", "show", "7", "--registry", hs.URL)
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := run(t, ctx, "govern", "show", "1", "--registry", hs.URL)
		if strings.Contains(out, "#1 executed") && strings.Contains(out, "final tally: yes 2000") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("never executed: %q", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	fails("PROPOSAL_ALREADY_EXECUTED", with(p, "govern", "execute", "1")...)
	must(`"fee_rate_bps": 5`, "teg", "params", "show", "--registry", hs.URL)
	fails("PARAMS_GOVERNED", with(conn(srv.AdminKey), "teg", "params", "set", "fee_rate_bps=7")...)
}
