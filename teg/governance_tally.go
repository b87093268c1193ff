package teg

import (
	"math/big"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg/fee"
)

// ErrProposalClosed refuses to close a proposal that is no longer being voted on.
var ErrProposalClosed = apperr.New(apperr.Conflict, "PROPOSAL_CLOSED", "the proposal's votes were counted already")

// Tally is a count of a proposal's votes, weighted by bonded stake, and what it decides.
type Tally struct {
	Yes     avt.Amount `json:"yes"`
	No      avt.Amount `json:"no"`
	Abstain avt.Amount `json:"abstain"`
	Veto    avt.Amount `json:"veto"`
	// Bonded is all the bonded stake; Voted the stake that voted (the four options).
	Bonded avt.Amount `json:"bonded"`
	Voted  avt.Amount `json:"voted"`
	// Quorum says whether the stake that voted reached the quorum; Outcome is what the count
	// decides if the voting ended now: passed, rejected or vetoed.
	Quorum  bool           `json:"quorum"`
	Outcome ProposalStatus `json:"outcome"`
}

// CountVotes tallies votes (voter → option) over the bonded stake: pools by id and every
// delegation. A delegation's stake votes as its delegator voted; a delegator that did not vote
// inherits, for the stake it delegated to a validator, that validator's vote; stake without a
// vote (or in the passive pool, whose delegators did not vote) does not vote. Then gp decides:
// no quorum (QuorumBps of the bonded stake voted) rejects; a veto of VetoBps of the votes or more
// vetoes; else ThresholdBps or more of the non-abstaining votes yes passes; else rejected.
func CountVotes(pools map[AccountID]*Pool, dels []*Delegation, votes map[AccountID]VoteOption, gp GovernanceParams) Tally {
	var t Tally
	for _, p := range pools {
		t.Bonded, _ = t.Bonded.Add(p.TotalTokens())
	}
	for _, d := range dels {
		p := pools[d.Validator]
		if p == nil {
			continue
		}
		opt, ok := votes[d.Delegator]
		if !ok && p.Validator {
			opt, ok = votes[p.ID]
		}
		if !ok {
			continue
		}
		v := p.Value(d)
		switch opt {
		case VoteYes:
			t.Yes, _ = t.Yes.Add(v)
		case VoteNo:
			t.No, _ = t.No.Add(v)
		case VoteAbstain:
			t.Abstain, _ = t.Abstain.Add(v)
		case VoteVeto:
			t.Veto, _ = t.Veto.Add(v)
		}
	}
	t.decide(gp)
	return t
}

// decide sets Voted, Quorum and Outcome from the counts.
func (t *Tally) decide(gp GovernanceParams) {
	t.Voted, _ = t.Yes.Add(t.No)
	t.Voted, _ = t.Voted.Add(t.Abstain)
	t.Voted, _ = t.Voted.Add(t.Veto)
	// atLeast: x / of ≥ bps / 10000, exactly (x × 10000 ≥ of × bps).
	atLeast := func(x, of avt.Amount, bps uint64) bool {
		l := new(big.Int).Mul(x.Big(), big.NewInt(fee.BasisPoints))
		r := new(big.Int).Mul(of.Big(), new(big.Int).SetUint64(bps))
		return l.Cmp(r) >= 0
	}
	nonAbstain, _ := t.Yes.Add(t.No)
	nonAbstain, _ = nonAbstain.Add(t.Veto)
	t.Quorum = !t.Voted.IsZero() && atLeast(t.Voted, t.Bonded, gp.QuorumBps)
	switch {
	case !t.Quorum:
		t.Outcome = StatusRejected
	case atLeast(t.Veto, t.Voted, gp.VetoBps):
		t.Outcome = StatusVetoed
	case !nonAbstain.IsZero() && atLeast(t.Yes, nonAbstain, gp.ThresholdBps):
		t.Outcome = StatusPassed
	default:
		t.Outcome = StatusRejected
	}
}
