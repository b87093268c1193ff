package teg_test

import (
	"encoding/json"
	"fmt"
	"math/big"
	"testing"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg"
)

// FuzzApplyChanges: whatever the key and the JSON value, a parameter change is either refused
// with PARAM_UNKNOWN or PARAM_OUT_OF_BOUNDS, or gives the next version of a set that validates
// and has the change; it never panics.
func FuzzApplyChanges(f *testing.F) {
	for _, s := range [][2]string{{"fee.rate_bps", "5"}, {"fee.min", `"0.01"`}, {"tiers", `[]`}, {"governance.voting_seconds", "-5"},
		{"fee", "1"}, {"version", "2"}, {"staking.epoch_seconds", "1e3"}, {"fee.rate_bps", "20000"}, {"max_supply", `"1"`}, {"", "{"},
		{"reputation.base", "150"}, {"reputation.half_life_days", "0"}, {"reputation.stake", "1e400"}, {"disputes.panel_size", "5"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		base := teg.DefaultParams()
		next, err := teg.ApplyChanges(base, map[string]json.RawMessage{key: json.RawMessage(value)})
		if err != nil {
			if code := apperr.CodeOf(err); code != teg.ErrParamUnknown.Code && code != teg.ErrParamOutOfBounds.Code {
				t.Fatalf("%q=%q: %v", key, value, err)
			}
			return
		}
		if next.Version != base.Version+1 {
			t.Fatalf("version %d", next.Version)
		}
		if err := next.Validate(); err != nil {
			t.Fatalf("%q=%q gave an invalid set: %v", key, value, err)
		}
		if _, err := teg.ParseParams(next.Encode()); err != nil {
			t.Fatalf("%q=%q gave a set that does not decode: %v", key, value, err)
		}
	})
}

// A proposal's content is checked for its kind's fields alone.
func TestProposalContent_Validate(t *testing.T) {
	ok := []teg.ProposalContent{
		{Kind: teg.ProposalParams, Title: "t", Changes: map[string]json.RawMessage{"fee.rate_bps": json.RawMessage("5")}},
		{Kind: teg.ProposalPolicy, Title: "t", Module: "authz.rego", Rego: "package x", Tests: "package y"},
		{Kind: teg.ProposalSpend, Title: "t", To: "agt_a", Amount: teg.DefaultGovernanceParams().Deposit},
		{Kind: teg.ProposalMint, Title: "t", Amount: teg.DefaultGovernanceParams().Deposit},
	}
	for _, c := range ok {
		if err := c.Validate(); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
	bad := map[string]teg.ProposalContent{
		"INVALID_PROPOSAL":    {Kind: "nope", Title: "t"},
		"INVALID_AMOUNT":      {Kind: teg.ProposalMint, Title: "t"},
		"POLICY_TESTS_FAILED": {Kind: teg.ProposalPolicy, Title: "t", Module: "authz.rego", Rego: "package x"},
	}
	bad2 := []teg.ProposalContent{
		{Kind: teg.ProposalMint, Amount: teg.DefaultGovernanceParams().Deposit},
		{Kind: teg.ProposalMint, Title: "t", Amount: teg.DefaultGovernanceParams().Deposit, To: "agt_a"},
		{Kind: teg.ProposalPolicy, Title: "t", Module: "authz_test.rego", Rego: "package x", Tests: "package y"},
		{Kind: teg.ProposalPolicy, Title: "t", Module: "sub/authz.rego", Rego: "package x", Tests: "package y"},
		{Kind: teg.ProposalSpend, Title: "t", To: "sys:treasury", Amount: teg.DefaultGovernanceParams().Deposit},
		{Kind: teg.ProposalParams, Title: "t"},
	}
	for code, c := range bad {
		if err := c.Validate(); apperr.CodeOf(err) != code {
			t.Errorf("%+v: %v, want %s", c, err, code)
		}
	}
	for _, c := range bad2 {
		if err := c.Validate(); apperr.CodeOf(err) != teg.ErrInvalidProposal.Code {
			t.Errorf("%+v: %v, want INVALID_PROPOSAL", c, err)
		}
	}
}

// BenchmarkCountVotes: the tally over 100 validators and 100,000 delegations, a tenth of the
// delegators voting themselves — the work of closing a proposal (and of a live tally) once the
// records are read.
func BenchmarkCountVotes(b *testing.B) {
	pools := map[teg.AccountID]*teg.Pool{}
	var dels []*teg.Delegation
	votes := map[teg.AccountID]teg.VoteOption{}
	opts := []teg.VoteOption{teg.VoteYes, teg.VoteNo, teg.VoteAbstain, teg.VoteVeto}
	for v := range 100 {
		id := teg.AccountID(fmt.Sprintf("agt_v%d", v))
		p := &teg.Pool{ID: id, Validator: true, Tokens: avt.AVT(1000 * 1000), Shares: big.NewInt(1000 * 1000), CShares: new(big.Int), Reward: new(big.Int), Residual: new(big.Int)}
		pools[id] = p
		votes[id] = opts[v%4]
		for d := range 1000 {
			did := teg.AccountID(fmt.Sprintf("agt_d%d_%d", v, d))
			dels = append(dels, &teg.Delegation{Delegator: did, Validator: id, Shares: big.NewInt(1000)})
			if d%10 == 0 {
				votes[did] = opts[(v+d)%4]
			}
		}
	}
	gp := teg.DefaultGovernanceParams()
	b.ResetTimer()
	for range b.N {
		teg.CountVotes(pools, dels, votes, gp)
	}
}
