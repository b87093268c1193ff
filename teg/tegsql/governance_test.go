package tegsql_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/store"
	"github.com/sovereign-stack/sovereign/store/storetest"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegsql"
)

// govParams are the test parameters: staking's, and a voting period of a minute and a timelock
// of 30 seconds.
func govParams() teg.Params {
	p := stakingParams()
	p.Governance = teg.DefaultGovernanceParams()
	p.Governance.VotingSeconds, p.Governance.TimelockSeconds = 60, 30
	return p
}

// govStats counts what the tally property exercised.
var govStats struct{ votes, changed, inherited, overridden, passed, rejected, vetoed, noQuorum atomic.Int64 }

// The tally property: random validators, stakes (self-stake, delegations, stake without a
// validator) and votes (some changed, some by delegators overriding their validator) → the live
// tally (GET …/tally) and the final one the ledger takes when the voting ends equal a brute-force
// count over every stake, inheritance and override included, to the base unit; the outcome equals
// the rules applied in exact rational arithmetic; the deposit is returned, or burnt for a veto;
// and teg verify passes.
func TestGovernance_TallyAgainstBruteForce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		rapid.Check(t, func(rt *rapid.T) {
			resetDB(rt, db)
			var clock schedClock
			params := govParams()
			gp := params.Governance
			gp.QuorumBps = rapid.Uint64Range(1, 10000).Draw(rt, "quorum")
			gp.ThresholdBps = rapid.Uint64Range(1, 10000).Draw(rt, "threshold")
			gp.VetoBps = rapid.Uint64Range(1, 10000).Draw(rt, "veto")
			params.Governance = gp
			l := tegsql.Open(db, params, clock.now)
			defer l.Close()
			n := 0
			do := func(c teg.Command) error {
				n++
				if c.ID == "" {
					c.ID = fmt.Sprintf("g%d", n)
				}
				_, _, err := l.Do(context.Background(), c)
				if err != nil && apperr.KindOf(err) == apperr.Internal {
					rt.Fatalf("%v: %v", c, err)
				}
				return err
			}
			mustDo := func(c teg.Command) {
				if err := do(c); err != nil {
					rt.Fatalf("%v: %v", c, err)
				}
			}
			mustDo(teg.Command{Kind: teg.KindMint, Amount: avt.AVT(10_000_000)})
			agents := make([]teg.AccountID, rapid.IntRange(2, 7).Draw(rt, "agents"))
			for i := range agents {
				agents[i] = teg.AccountID(fmt.Sprintf("agt_g%d", i))
				mustDo(teg.Command{Kind: teg.KindOpen, To: agents[i]})
				mustDo(teg.Command{Kind: teg.KindGrant, To: agents[i], Amount: avt.AVT(100_000)})
			}
			// stake[delegator][pool] is what the model says each stake is worth.
			stake := map[teg.AccountID]map[teg.AccountID]*big.Int{}
			add := func(d, p teg.AccountID, a avt.Amount) {
				if stake[d] == nil {
					stake[d] = map[teg.AccountID]*big.Int{}
				}
				if stake[d][p] == nil {
					stake[d][p] = new(big.Int)
				}
				stake[d][p].Add(stake[d][p], a.Big())
			}
			amount := func(label string, min uint64) avt.Amount {
				a, _ := avt.AVT(rapid.Uint64Range(min, min+5000).Draw(rt, label)).Add(avt.FromUnits(rapid.Uint64Range(0, 999).Draw(rt, label+"_units")))
				return a
			}
			validators := map[teg.AccountID]bool{}
			for _, a := range agents {
				if rapid.Bool().Draw(rt, "validator") {
					self := amount("self", 1000)
					mustDo(teg.Command{Kind: teg.KindValidatorCreate, From: a, Amount: self, Staking: &teg.StakingArgs{}})
					validators[a] = true
					add(a, a, self)
				}
			}
			for range rapid.IntRange(0, 12).Draw(rt, "stakes") {
				d := rapid.SampledFrom(agents).Draw(rt, "delegator")
				target := rapid.SampledFrom(agents).Draw(rt, "target")
				a := amount("stake", 10)
				switch {
				case validators[target]:
					mustDo(teg.Command{Kind: teg.KindStake, From: d, Amount: a, Staking: &teg.StakingArgs{Validator: target}})
					add(d, target, a)
				case !validators[d]: // stake without a validator: the passive pool
					mustDo(teg.Command{Kind: teg.KindStake, From: d, Amount: a, Staking: &teg.StakingArgs{}})
					add(d, teg.PassivePool, a)
				}
			}
			proposer := agents[0]
			deposit := params.Governance.Deposit
			mustDo(teg.Command{Kind: teg.KindGovPropose, From: proposer, Amount: deposit, Gov: &teg.GovArgs{Content: &teg.ProposalContent{
				Kind: teg.ProposalMint, Title: "mint", Amount: avt.AVT(1)}}})
			liquidAfterDeposit := liquidOf(rt, l, proposer)
			options := []teg.VoteOption{teg.VoteYes, teg.VoteNo, teg.VoteAbstain, teg.VoteVeto}
			votes := map[teg.AccountID]teg.VoteOption{}
			for range rapid.IntRange(0, 12).Draw(rt, "votes") {
				v := rapid.SampledFrom(agents).Draw(rt, "voter")
				opt := rapid.SampledFrom(options).Draw(rt, "option")
				err := do(teg.Command{Kind: teg.KindGovVote, From: v, Gov: &teg.GovArgs{Proposal: 1, Option: opt}})
				var want string
				switch {
				case len(stake[v]) == 0:
					want = teg.ErrNoVotingPower.Code
				case votes[v] == opt:
					want = teg.ErrVoteUnchanged.Code
				}
				if got := apperr.CodeOf(err); (err == nil) != (want == "") || (err != nil && got != want) {
					rt.Fatalf("vote %s %s: %v, want %q", v, opt, err, want)
				}
				if err == nil {
					if votes[v] != "" {
						govStats.changed.Add(1)
					}
					votes[v] = opt
					govStats.votes.Add(1)
				}
			}
			// The brute-force count: every stake, as its delegator voted, else as its validator did.
			count := map[teg.VoteOption]*big.Int{}
			for _, o := range options {
				count[o] = new(big.Int)
			}
			bonded := new(big.Int)
			for d, pools := range stake {
				for p, v := range pools {
					bonded.Add(bonded, v)
					opt, ok := votes[d]
					if ok && validators[p] && p != d && votes[p] != "" && votes[p] != opt {
						govStats.overridden.Add(1)
					}
					if !ok && validators[p] {
						if opt, ok = votes[p]; ok && p != d {
							govStats.inherited.Add(1)
						}
					}
					if ok {
						count[opt].Add(count[opt], v)
					}
				}
			}
			want := bruteOutcome(count, bonded, gp)
			checkTally := func(what string, got teg.Tally) {
				for _, c := range []struct {
					name string
					got  avt.Amount
					want *big.Int
				}{{"yes", got.Yes, count[teg.VoteYes]}, {"no", got.No, count[teg.VoteNo]}, {"abstain", got.Abstain, count[teg.VoteAbstain]},
					{"veto", got.Veto, count[teg.VoteVeto]}, {"bonded", got.Bonded, bonded}} {
					if c.got.Big().Cmp(c.want) != 0 {
						rt.Fatalf("%s tally %s = %s, brute force %s (votes %v, stake %v)", what, c.name, c.got, c.want, votes, stake)
					}
				}
				if got.Outcome != want {
					rt.Fatalf("%s outcome %s, brute force %s (tally %+v, params %+v)", what, got.Outcome, want, got, gp)
				}
			}
			live, err := teg.LiveTally(context.Background(), l, 1, gp)
			if err != nil {
				rt.Fatal(err)
			}
			checkTally("live", live)

			clock.advance(61 * time.Second)
			// Voting after the end is refused, whatever the vote.
			if err := do(teg.Command{Kind: teg.KindGovVote, From: agents[0], Gov: &teg.GovArgs{Proposal: 1, Option: teg.VoteNo}}); apperr.CodeOf(err) != teg.ErrVotingEnded.Code {
				rt.Fatalf("vote after the end: %v", err)
			}
			burnBefore := liquidOf(rt, l, teg.Burn)
			sched := &teg.Scheduler{Store: l, Now: clock.now}
			if closed, _, _, err := sched.RunGovernance(context.Background()); err != nil || closed != 1 {
				rt.Fatalf("close: %d, %v", closed, err)
			}
			text, _, err := l.State(context.Background(), teg.ProposalKey(1))
			if err != nil {
				rt.Fatal(err)
			}
			p, err := teg.DecodeProposal(text)
			if err != nil {
				rt.Fatal(err)
			}
			checkTally("final", *p.Tally)
			if p.Status != want {
				rt.Fatalf("status %s, want %s", p.Status, want)
			}
			switch want {
			case teg.StatusVetoed:
				govStats.vetoed.Add(1)
				if got, _ := liquidOf(rt, l, teg.Burn).Sub(burnBefore); got != deposit {
					rt.Fatalf("a veto burnt %s, want the deposit %s", got, deposit)
				}
			default:
				if want == teg.StatusPassed {
					govStats.passed.Add(1)
				} else {
					govStats.rejected.Add(1)
				}
				if !p.Tally.Quorum {
					govStats.noQuorum.Add(1)
				}
				if got, _ := liquidOf(rt, l, proposer).Sub(liquidAfterDeposit); got != deposit {
					rt.Fatalf("the proposer got %s back, want the deposit %s", got, deposit)
				}
			}
			if g := liquidOf(rt, l, teg.GovDeposits); !g.IsZero() {
				rt.Fatalf("escrow holds %s after the close", g)
			}
			if _, err := l.Verify(context.Background()); err != nil {
				rt.Fatalf("verify: %v", err)
			}
		})
		t.Logf("%s: votes %d (changed %d), stakes inheriting %d, overriding %d; passed %d, rejected %d (no quorum %d), vetoed %d", db.Dialect(),
			govStats.votes.Load(), govStats.changed.Load(), govStats.inherited.Load(), govStats.overridden.Load(), govStats.passed.Load(),
			govStats.rejected.Load(), govStats.noQuorum.Load(), govStats.vetoed.Load())
	})
}

// bruteOutcome applies the rules in rational arithmetic: no quorum rejects, a veto share of at
// least VetoBps vetoes, a yes share of the non-abstaining votes of at least ThresholdBps passes.
func bruteOutcome(count map[teg.VoteOption]*big.Int, bonded *big.Int, gp teg.GovernanceParams) teg.ProposalStatus {
	voted := new(big.Int)
	for _, v := range count {
		voted.Add(voted, v)
	}
	ratio := func(x, of *big.Int) *big.Rat { return new(big.Rat).SetFrac(x, of) }
	bps := func(b uint64) *big.Rat { return new(big.Rat).SetFrac64(int64(b), 10000) }
	if voted.Sign() == 0 || ratio(voted, bonded).Cmp(bps(gp.QuorumBps)) < 0 {
		return teg.StatusRejected
	}
	if ratio(count[teg.VoteVeto], voted).Cmp(bps(gp.VetoBps)) >= 0 {
		return teg.StatusVetoed
	}
	nonAbstain := new(big.Int).Sub(voted, count[teg.VoteAbstain])
	if nonAbstain.Sign() > 0 && ratio(count[teg.VoteYes], nonAbstain).Cmp(bps(gp.ThresholdBps)) >= 0 {
		return teg.StatusPassed
	}
	return teg.StatusRejected
}

func liquidOf(t interface{ Fatal(...any) }, l *tegsql.Ledger, id teg.AccountID) avt.Amount {
	a, err := l.Account(context.Background(), id)
	if err != nil {
		if apperr.KindOf(err) == apperr.NotFound {
			return avt.Amount{}
		}
		t.Fatal(err)
	}
	return a.Liquid
}

// govLedger is a ledger with the test governance parameters, a validator agt_v (self-stake
// 2,000 AVT), a delegator agt_d (500 AVT to agt_v), an agent without stake agt_n, and a
// treasury of 1,000,000 AVT less their grants.
func govLedger(t *testing.T, db *store.DB, clock *schedClock) *tegsql.Ledger {
	l := tegsql.Open(db, govParams(), clock.now)
	t.Cleanup(l.Close)
	must(t, l, teg.Command{Kind: teg.KindMint, ID: "mint", Amount: avt.AVT(1_000_000)})
	for _, a := range []teg.AccountID{"agt_v", "agt_d", "agt_n"} {
		must(t, l, teg.Command{Kind: teg.KindOpen, ID: "open-" + string(a), To: a})
		must(t, l, teg.Command{Kind: teg.KindGrant, ID: "grant-" + string(a), To: a, Amount: avt.AVT(5000)})
	}
	must(t, l, teg.Command{Kind: teg.KindValidatorCreate, ID: "val", From: "agt_v", Amount: avt.AVT(2000), Staking: &teg.StakingArgs{}})
	must(t, l, teg.Command{Kind: teg.KindStake, ID: "stake", From: "agt_d", Amount: avt.AVT(500), Staking: &teg.StakingArgs{Validator: "agt_v"}})
	return l
}

func propose(id string, c teg.ProposalContent) teg.Command {
	return teg.Command{Kind: teg.KindGovPropose, ID: id, From: "agt_v", Amount: avt.AVT(100), Gov: &teg.GovArgs{Content: &c}}
}

func voteCmd(id string, voter teg.AccountID, proposal uint64, o teg.VoteOption) teg.Command {
	return teg.Command{Kind: teg.KindGovVote, ID: id, From: voter, Gov: &teg.GovArgs{Proposal: proposal, Option: o}}
}

func wantCode(t *testing.T, l *tegsql.Ledger, c teg.Command, code string) {
	t.Helper()
	before, err := l.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = l.Do(context.Background(), c)
	if apperr.CodeOf(err) != code {
		t.Fatalf("%v: %v, want %s", c, err, code)
	}
	if after, _ := l.Head(context.Background()); after.Seq != before.Seq {
		t.Fatalf("%v was refused but the log moved from %d to %d", c, before.Seq, after.Seq)
	}
}

func proposalOf(t *testing.T, l *tegsql.Ledger, id uint64) *teg.Proposal {
	t.Helper()
	text, ok, err := l.State(context.Background(), teg.ProposalKey(id))
	if err != nil || !ok {
		t.Fatalf("proposal %d: %v %v", id, ok, err)
	}
	p, err := teg.DecodeProposal(text)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The life of proposals: a fee change passes, waits for its timelock, is executed once by the
// scheduler and the next transfer pays the new fee; a vetoed proposal burns its deposit; a
// treasury spend and a mint move their tokens; the admin's parameter changes are refused once
// governance began; every bad command is refused with its code and moves nothing; teg verify
// passes and supply = minted − burned.
func TestGovernance_Lifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		var clock schedClock
		l := govLedger(t, db, &clock)
		sched := &teg.Scheduler{Store: l, Now: clock.now}
		raw := func(s string) json.RawMessage { return json.RawMessage(s) }

		// Bad proposals: each its code, nothing moves.
		low := propose("low", teg.ProposalContent{Kind: teg.ProposalMint, Title: "m", Amount: avt.AVT(1)})
		low.Amount = avt.MustParse("99.999999999999999999")
		wantCode(t, l, low, teg.ErrDepositTooLow.Code)
		wantCode(t, l, propose("unknown", teg.ProposalContent{Kind: teg.ProposalParams, Title: "x", Changes: map[string]json.RawMessage{"fee.nope": raw("1")}}), teg.ErrParamUnknown.Code)
		wantCode(t, l, propose("group", teg.ProposalContent{Kind: teg.ProposalParams, Title: "x", Changes: map[string]json.RawMessage{"fee": raw("1")}}), teg.ErrParamUnknown.Code)
		wantCode(t, l, propose("version", teg.ProposalContent{Kind: teg.ProposalParams, Title: "x", Changes: map[string]json.RawMessage{"version": raw("9")}}), teg.ErrParamUnknown.Code)
		wantCode(t, l, propose("fee", teg.ProposalContent{Kind: teg.ProposalParams, Title: "x", Changes: map[string]json.RawMessage{"fee.rate_bps": raw("10001")}}), teg.ErrParamOutOfBounds.Code)
		wantCode(t, l, propose("neg", teg.ProposalContent{Kind: teg.ProposalParams, Title: "x", Changes: map[string]json.RawMessage{"governance.voting_seconds": raw("-5")}}), teg.ErrParamOutOfBounds.Code)
		wantCode(t, l, propose("negu", teg.ProposalContent{Kind: teg.ProposalParams, Title: "x", Changes: map[string]json.RawMessage{"fee.rate_bps": raw("-5")}}), teg.ErrParamOutOfBounds.Code)
		wantCode(t, l, propose("type", teg.ProposalContent{Kind: teg.ProposalParams, Title: "x", Changes: map[string]json.RawMessage{"fee.min": raw("12")}}), teg.ErrParamOutOfBounds.Code)
		poor := propose("poor", teg.ProposalContent{Kind: teg.ProposalMint, Title: "m", Amount: avt.AVT(1)})
		poor.Amount = avt.AVT(4000)
		wantCode(t, l, poor, teg.ErrInsufficient.Code)
		wantCode(t, l, propose("notitle", teg.ProposalContent{Kind: teg.ProposalMint, Amount: avt.AVT(1)}), teg.ErrInvalidProposal.Code)
		if _, governed, _ := l.State(ctx, "gov/count"); governed {
			t.Fatal("a refused proposal started governance")
		}

		// 1: lower the fee from 10 to 5 basis points.
		must(t, l, propose("p1", teg.ProposalContent{Kind: teg.ProposalParams, Title: "halve the fee", Changes: map[string]json.RawMessage{"fee.rate_bps": raw("5")}}))
		if got := liquidOf(t, l, teg.GovDeposits); got != avt.AVT(100) {
			t.Fatalf("escrow %s", got)
		}
		// The admin's bootstrap route is closed now.
		next := govParams()
		next.Version = 2
		wantCode(t, l, teg.Command{Kind: teg.KindParams, ID: "admin-params", Params: &next}, teg.ErrParamsGoverned.Code)
		must(t, l, voteCmd("v1", "agt_v", 1, teg.VoteNo))
		must(t, l, voteCmd("v1b", "agt_v", 1, teg.VoteYes)) // a change of vote
		wantCode(t, l, voteCmd("v1c", "agt_v", 1, teg.VoteYes), teg.ErrVoteUnchanged.Code)
		wantCode(t, l, voteCmd("v1n", "agt_n", 1, teg.VoteYes), teg.ErrNoVotingPower.Code)
		wantCode(t, l, voteCmd("v1x", "agt_v", 9, teg.VoteYes), teg.ErrProposalNotFound.Code)
		wantCode(t, l, voteCmd("v1o", "agt_v", 1, "maybe"), teg.ErrInvalidVote.Code)
		live, err := teg.LiveTally(ctx, l, 1, govParams().Governance)
		if err != nil || live.Yes != avt.AVT(2500) || live.Outcome != teg.StatusPassed {
			t.Fatalf("live tally %+v %v (the delegator inherits the validator's yes)", live, err)
		}
		wantCode(t, l, teg.Command{Kind: teg.KindGovClose, ID: "early-close", Gov: &teg.GovArgs{Proposal: 1}}, teg.ErrVotingNotEnded.Code)
		if c, e, _, err := sched.RunGovernance(ctx); c+e != 0 || err != nil {
			t.Fatalf("nothing is due yet: %d %d %v", c, e, err)
		}

		// 2: a treasury spend, vetoed by the delegator's own vote outweighing nothing: it fails.
		must(t, l, propose("p2", teg.ProposalContent{Kind: teg.ProposalSpend, Title: "grant", To: "agt_n", Amount: avt.AVT(300), Reason: "tooling"}))
		must(t, l, voteCmd("v2", "agt_v", 2, teg.VoteVeto))
		must(t, l, voteCmd("v2d", "agt_d", 2, teg.VoteYes)) // overrides its validator for its 500
		// 3: a treasury spend that passes; 4: a mint that passes.
		must(t, l, propose("p3", teg.ProposalContent{Kind: teg.ProposalSpend, Title: "grant", To: "agt_n", Amount: avt.AVT(300), Reason: "tooling"}))
		must(t, l, voteCmd("v3", "agt_v", 3, teg.VoteYes))
		must(t, l, propose("p4", teg.ProposalContent{Kind: teg.ProposalMint, Title: "mint", Amount: avt.AVT(1000), Reason: "grants budget"}))
		must(t, l, voteCmd("v4", "agt_v", 4, teg.VoteYes))
		vLiquid := liquidOf(t, l, "agt_v")
		burnt := liquidOf(t, l, teg.Burn)

		clock.advance(61 * time.Second)
		wantCode(t, l, voteCmd("late", "agt_d", 1, teg.VoteNo), teg.ErrVotingEnded.Code)
		if c, e, _, err := sched.RunGovernance(ctx); c != 4 || e != 0 || err != nil {
			t.Fatalf("close: %d closed, %d executed, %v", c, e, err)
		}
		if c, _, _, err := sched.RunGovernance(ctx); c != 0 || err != nil {
			t.Fatalf("closed twice: %d %v", c, err)
		}
		if p := proposalOf(t, l, 2); p.Status != teg.StatusVetoed || p.Tally.Veto != avt.AVT(2000) || p.Tally.Yes != avt.AVT(500) {
			t.Fatalf("proposal 2 %+v %+v", p, p.Tally)
		}
		if got, _ := liquidOf(t, l, teg.Burn).Sub(burnt); got != avt.AVT(100) {
			t.Fatalf("the veto burnt %s, want the deposit", got)
		}
		if got, _ := liquidOf(t, l, "agt_v").Sub(vLiquid); got != avt.AVT(300) {
			t.Fatalf("the proposer got back %s, want 3 deposits", got)
		}
		for _, id := range []uint64{1, 3, 4} {
			if p := proposalOf(t, l, id); p.Status != teg.StatusPassed || !p.ExecutableAt.Equal(p.VotingEndsAt.Add(30*time.Second)) {
				t.Fatalf("proposal %d %+v", id, p)
			}
		}
		// Before the timelock: refused.
		wantCode(t, l, teg.ExecutionCommand(proposalOf(t, l, 1), "early"), teg.ErrTimelock.Code)
		wantCode(t, l, teg.ExecutionCommand(proposalOf(t, l, 2), "vetoed"), teg.ErrProposalNotPassed.Code)
		mismatch := teg.ExecutionCommand(proposalOf(t, l, 3), "mismatch")
		mismatch.Amount = avt.AVT(301)
		clock.advance(31 * time.Second)
		wantCode(t, l, mismatch, teg.ErrProposalMismatch.Code)
		treasury, nBefore := liquidOf(t, l, teg.Treasury), liquidOf(t, l, "agt_n")
		if _, e, failed, err := sched.RunGovernance(ctx); e != 3 || err != nil || len(failed) > 0 {
			t.Fatalf("execute: %d executed, %v, %v", e, failed, err)
		}
		// Executing twice is impossible: the scheduler's id replays nothing new, another id is refused.
		if _, e, _, err := sched.RunGovernance(ctx); e != 0 || err != nil {
			t.Fatalf("executed twice: %d %v", e, err)
		}
		wantCode(t, l, teg.ExecutionCommand(proposalOf(t, l, 1), "again"), teg.ErrAlreadyExecuted.Code)
		if p := proposalOf(t, l, 1); p.Status != teg.StatusExecuted {
			t.Fatalf("proposal 1 %+v", p)
		}
		pv, err := l.Params(ctx)
		if err != nil || pv.Version != 2 || pv.Fee.RateBps != 5 {
			t.Fatalf("params in force %+v %v", pv, err)
		}
		hist, err := l.ParamsHistory(ctx)
		if err != nil || len(hist) != 2 || hist[1].Message != "proposal 1: halve the fee" {
			t.Fatalf("params history %+v %v", hist, err)
		}
		// The next transfer pays the new fee: 5 bps of 1,000 AVT.
		if tr := must(t, l, teg.Command{Kind: teg.KindTransfer, ID: "after", From: "agt_d", To: "agt_n", Amount: avt.AVT(1000)}); tr.Fee != avt.MustParse("0.5") {
			t.Fatalf("fee after the change %s, want 0.5", tr.Fee)
		}
		if got, _ := liquidOf(t, l, "agt_n").Sub(nBefore); got != avt.MustParse("1300") {
			t.Fatalf("agt_n received %s, want the 300 spend and the 1000 transfer", got)
		}
		if got, _ := treasury.Add(avt.AVT(1000 - 300)); liquidOf(t, l, teg.Treasury).Cmp(got) < 0 {
			t.Fatalf("treasury %s, want at least %s (+ the mint − the spend)", liquidOf(t, l, teg.Treasury), got)
		}
		rep, err := l.Verify(ctx)
		if err != nil {
			t.Fatalf("verify: %v", err)
		}
		if rep.Minted != avt.AVT(1_001_000) {
			t.Fatalf("minted %s", rep.Minted)
		}
		if want, _ := rep.Minted.Sub(rep.Burned); rep.Supply != want {
			t.Fatalf("supply %s ≠ minted %s − burned %s", rep.Supply, rep.Minted, rep.Burned)
		}
	})
}

// govEvents counts the log's events of kind k.
func govEvents(t *testing.T, l *tegsql.Ledger, k teg.Kind) int {
	t.Helper()
	n := 0
	for after := uint64(0); ; {
		es, err := l.Entries(context.Background(), after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Event.Kind == k {
				n++
			}
			after = e.Event.Seq
		}
		if len(es) < 1000 {
			return n
		}
	}
}

// TestGovernance_TwoReplicasCloseAndExecuteOnce: two ledgers (two processes' writers) on one
// PostgreSQL database run the governance scheduler at once, after a downtime that let several
// proposals end and their timelocks pass: each is closed once and executed once.
func TestGovernance_TwoReplicasCloseAndExecuteOnce(t *testing.T) {
	db := storetest.Postgres(t)
	clock := &schedClock{}
	a := govLedger(t, db, clock)
	b := tegsql.Open(db, govParams(), clock.now)
	t.Cleanup(b.Close)
	for i := 1; i <= 4; i++ {
		must(t, a, propose(fmt.Sprintf("p%d", i), teg.ProposalContent{Kind: teg.ProposalMint, Title: "mint", Amount: avt.AVT(uint64(i))}))
		must(t, a, voteCmd(fmt.Sprintf("v%d", i), "agt_v", uint64(i), teg.VoteYes))
	}
	clock.advance(10 * time.Minute) // the scheduler was down past the ends and the timelocks
	var wg sync.WaitGroup
	var closes, execs atomic.Int64
	for _, l := range []*tegsql.Ledger{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &teg.Scheduler{Store: l, Now: clock.now}
			for range 3 {
				c, e, failed, err := s.RunGovernance(context.Background())
				if err != nil || len(failed) > 0 {
					t.Error(err, failed)
					return
				}
				closes.Add(int64(c))
				execs.Add(int64(e))
			}
		}()
	}
	wg.Wait()
	if closes.Load() != 4 || execs.Load() != 4 {
		t.Fatalf("the schedulers report %d closes and %d executions applied; want 4 and 4", closes.Load(), execs.Load())
	}
	if c, m := govEvents(t, a, teg.KindGovClose), govEvents(t, a, teg.KindMint); c != 4 || m != 5 { // the genesis mint and 4 proposals
		t.Fatalf("%d closes, %d mints; want 4 and 5", c, m)
	}
	for i := uint64(1); i <= 4; i++ {
		if p := proposalOf(t, a, i); p.Status != teg.StatusExecuted {
			t.Fatalf("proposal %d %s", i, p.Status)
		}
	}
	if rep, err := a.Verify(context.Background()); err != nil || rep.Minted != avt.AVT(1_000_010) {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// BenchmarkGovernanceClose: closing a proposal over 10 validators and 10,000 delegations (a tenth
// of the delegators voting themselves) on SQLite: the ledger reads every pool, delegation and vote
// and writes the tally — the pause of the writer once per proposal.
func BenchmarkGovernanceClose(b *testing.B) {
	const validators, delegators = 10, 10_000
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		var clock schedClock
		db := storetest.SQLite(b)
		l := tegsql.Open(db, govParams(), clock.now)
		ids := setup(b, l, delegators+validators, avt.AVT(5000))
		var cmds []teg.Command
		for i, id := range ids[:validators] {
			cmds = append(cmds, teg.Command{Kind: teg.KindValidatorCreate, ID: fmt.Sprintf("val-%d", i), From: id, Amount: avt.AVT(2000), Staking: &teg.StakingArgs{}})
		}
		for i, id := range ids[validators:] {
			cmds = append(cmds, teg.Command{Kind: teg.KindStake, ID: fmt.Sprintf("st-%d", i), From: id, Amount: avt.AVT(100), Staking: &teg.StakingArgs{Validator: ids[i%validators]}})
		}
		cmds = append(cmds, teg.Command{Kind: teg.KindGovPropose, ID: "prop", From: ids[0], Amount: avt.AVT(100), Gov: &teg.GovArgs{Content: &teg.ProposalContent{Kind: teg.ProposalMint, Title: "m", Amount: avt.AVT(1)}}})
		for i, id := range ids {
			if i < validators || i%10 == 0 {
				cmds = append(cmds, teg.Command{Kind: teg.KindGovVote, ID: fmt.Sprintf("vote-%d", i), From: id, Gov: &teg.GovArgs{Proposal: 1, Option: teg.VoteYes}})
			}
		}
		for c := range slices.Chunk(cmds, 1000) {
			res, err := l.Submit(ctx, c, true)
			if err != nil {
				b.Fatal(err)
			}
			_ = res
		}
		clock.advance(time.Hour)
		b.StartTimer()
		must(b, l, teg.Command{Kind: teg.KindGovClose, ID: "close", Gov: &teg.GovArgs{Proposal: 1}})
		b.StopTimer()
		l.Close()
	}
}
