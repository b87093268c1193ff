package teg

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
)

// governed reports whether a proposal was ever made: from then on the parameters change by
// governance only. A store without keyed state has no governance.
func (b *batch) governed() (bool, error) {
	if _, ok := b.r.(StateReader); !ok {
		return false, nil
	}
	_, ok, err := b.state(keyGovCount)
	return ok, err
}

// proposal reads proposal id as the command so far left it.
func (b *batch) proposal(w *stateWrites, id uint64) (*Proposal, error) {
	text, ok, err := b.getState(w, ProposalKey(id))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrProposalNotFound.With("proposal", id)
	}
	return DecodeProposal(text)
}

// govExecute checks that c executes the passed proposal it names, now that its timelock has
// ended, and as the proposal says; it returns the proposal and the state writes that mark it
// executed (applied with the command, or not at all).
func (b *batch) govExecute(c *Command, t *Transfer) (*Proposal, *stateWrites, error) {
	w := &stateWrites{}
	p, err := b.proposal(w, c.Gov.Proposal)
	if err != nil {
		return nil, nil, err
	}
	switch p.Status {
	case StatusExecuted:
		return nil, nil, ErrAlreadyExecuted.With("proposal", p.ID).With("executed_at", p.ExecutedAt.Format(time.RFC3339Nano))
	case StatusPassed:
	default:
		return nil, nil, ErrProposalNotPassed.With("proposal", p.ID).With("status", string(p.Status))
	}
	if b.now.Before(*p.ExecutableAt) {
		return nil, nil, ErrTimelock.With("proposal", p.ID).With("executable_at", p.ExecutableAt.Format(time.RFC3339Nano))
	}
	want := ExecutionCommand(p, c.ID)
	if want.Kind != c.Kind || want.Amount != c.Amount || want.To != c.To {
		return nil, nil, ErrProposalMismatch.With("proposal", p.ID).With("kind", string(want.Kind))
	}
	now := b.now
	w.del(govQueueKey(prefixGovExec, *p.ExecutableAt, p.ID))
	p.Status, p.ExecutedAt = StatusExecuted, &now
	w.put(ProposalKey(p.ID), encodeRecord(p))
	if t.Message == "" {
		t.Message = truncateMessage(fmt.Sprintf("proposal %d: %s", p.ID, p.Content.Title))
	}
	return p, w, nil
}

// applyGovernance applies a governance command: its postings and event data, and its state
// writes (added to sw, which an execution's check started). Nothing is changed when it returns an
// error.
func (b *batch) applyGovernance(c *Command, t *Transfer, ps []Posting, sw *stateWrites, prop *Proposal) ([]Posting, map[string]string, *stateWrites, error) {
	if sw == nil {
		sw = &stateWrites{}
	}
	data := map[string]string{}
	var err error
	switch c.Kind {
	case KindGovPropose:
		ps, err = b.propose(c, t, ps, sw, data)
	case KindGovVote:
		err = b.vote(c, sw, data)
	case KindGovClose:
		ps, err = b.closeProposal(c, t, ps, sw, data)
	case KindGovPolicy:
		err = b.installPolicy(prop, sw, data)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	// The accounts the transfer names get it in their histories: they are read into the batch.
	for _, id := range [2]AccountID{t.From, t.To} {
		if id != "" {
			if _, err := b.account(id); err != nil {
				return nil, nil, nil, accountErr(id, err)
			}
		}
	}
	return ps, data, sw, nil
}

func (b *batch) propose(c *Command, t *Transfer, ps []Posting, w *stateWrites, data map[string]string) ([]Posting, error) {
	gp := b.params.EffectiveGovernance()
	if err := b.checkPayer(c.From); err != nil {
		return nil, err
	}
	if c.Amount.Cmp(gp.Deposit) < 0 {
		return nil, ErrDepositTooLow.With("field", "deposit").With("minimum", gp.Deposit.String()).With("requested", c.Amount.String())
	}
	content := *c.Gov.Content
	if content.Kind == ProposalParams {
		if _, err := ApplyChanges(b.params, content.Changes); err != nil {
			return nil, err
		}
	}
	var n uint64
	if text, ok, err := b.getState(w, keyGovCount); err != nil {
		return nil, err
	} else if ok {
		if n, err = strconv.ParseUint(text, 10, 64); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", errGovernanceCorrupted, keyGovCount, err)
		}
	}
	n++
	p := Proposal{ID: n, Proposer: c.From, TransferID: c.ID, Content: content, Deposit: c.Amount, Status: StatusVoting, SubmittedAt: b.now,
		VotingEndsAt: b.now.Add(time.Duration(gp.VotingSeconds) * time.Second)}
	id := strconv.FormatUint(n, 10)
	w.put(keyGovCount, id)
	w.put(ProposalKey(n), encodeRecord(p))
	w.put(govQueueKey(prefixGovEnd, p.VotingEndsAt, n), id)
	t.To = GovDeposits
	data["proposal"], data["proposal_kind"] = id, string(content.Kind)
	return append(ps, Posting{Account: c.From, Part: Liquid, Amount: c.Amount, Debit: true}, Posting{Account: GovDeposits, Part: Liquid, Amount: c.Amount}), nil
}

func (b *batch) vote(c *Command, w *stateWrites, data map[string]string) error {
	p, err := b.proposal(w, c.Gov.Proposal)
	if err != nil {
		return err
	}
	if p.Status != StatusVoting || !b.now.Before(p.VotingEndsAt) {
		return ErrVotingEnded.With("proposal", p.ID).With("voting_ended_at", p.VotingEndsAt.Format(time.RFC3339Nano))
	}
	if _, err := b.account(c.From); err != nil {
		return accountErr(c.From, err)
	}
	power, err := b.votingPower(c.From)
	if err != nil {
		return err
	}
	if power.IsZero() {
		return ErrNoVotingPower.With("proposal", p.ID)
	}
	key := voteKey(p.ID, c.From)
	prev, voted, err := b.getState(w, key)
	if err != nil {
		return err
	}
	if voted && VoteOption(prev) == c.Gov.Option {
		return ErrVoteUnchanged.With("proposal", p.ID).With("option", prev)
	}
	w.put(key, string(c.Gov.Option))
	data["proposal"], data["option"], data["power"] = strconv.FormatUint(p.ID, 10), string(c.Gov.Option), power.String()
	if voted {
		data["previous"] = prev
	}
	return nil
}

// votingPower is what an agent's delegations are worth now.
func (b *batch) votingPower(agent AccountID) (avt.Amount, error) {
	dels, err := b.scanState(DelegationsPrefix(agent), 0)
	if err != nil {
		return avt.Amount{}, err
	}
	var total avt.Amount
	for _, e := range dels {
		d, err := DecodeDelegation(e.Value)
		if err != nil {
			return avt.Amount{}, err
		}
		text, ok, err := b.state(PoolKey(d.Validator))
		if err != nil {
			return avt.Amount{}, err
		}
		if !ok {
			return avt.Amount{}, errCorruptState(e.Key)
		}
		p, err := DecodePool(text)
		if err != nil {
			return avt.Amount{}, err
		}
		total, _ = total.Add(p.Value(d))
	}
	return total, nil
}

func (b *batch) closeProposal(c *Command, t *Transfer, ps []Posting, w *stateWrites, data map[string]string) ([]Posting, error) {
	p, err := b.proposal(w, c.Gov.Proposal)
	if err != nil {
		return nil, err
	}
	if p.Status != StatusVoting {
		return nil, ErrProposalClosed.With("proposal", p.ID).With("status", string(p.Status))
	}
	if b.now.Before(p.VotingEndsAt) {
		return nil, ErrVotingNotEnded.With("proposal", p.ID).With("voting_ends_at", p.VotingEndsAt.Format(time.RFC3339Nano))
	}
	gp := b.params.EffectiveGovernance()
	tally, err := b.tally(p.ID, gp)
	if err != nil {
		return nil, err
	}
	now := b.now
	p.ClosedAt, p.Tally, p.Status = &now, &tally, tally.Outcome
	w.del(govQueueKey(prefixGovEnd, p.VotingEndsAt, p.ID))
	dest := p.Proposer
	switch {
	case tally.Outcome == StatusVetoed:
		dest = Burn
	case b.checkReceive(p.Proposer) != nil:
		dest = Treasury // the proposer's wallet was revoked
	}
	if tally.Outcome == StatusPassed {
		at := p.VotingEndsAt.Add(time.Duration(gp.TimelockSeconds) * time.Second)
		p.ExecutableAt = &at
		w.put(govQueueKey(prefixGovExec, at, p.ID), strconv.FormatUint(p.ID, 10))
	}
	w.put(ProposalKey(p.ID), encodeRecord(p))
	t.From, t.To, t.Amount = GovDeposits, dest, p.Deposit
	data["proposal"], data["outcome"] = strconv.FormatUint(p.ID, 10), string(tally.Outcome)
	data["yes"], data["no"], data["abstain"], data["veto"], data["bonded"] = tally.Yes.String(), tally.No.String(), tally.Abstain.String(),
		tally.Veto.String(), tally.Bonded.String()
	return append(ps, Posting{Account: GovDeposits, Part: Liquid, Amount: p.Deposit, Debit: true}, Posting{Account: dest, Part: Liquid, Amount: p.Deposit}), nil
}

// tally counts proposal id's votes over the bonded stake as the batch sees it.
func (b *batch) tally(id uint64, gp GovernanceParams) (Tally, error) {
	return LiveTally(b.ctx, batchState{b}, id, gp)
}

// batchState reads the keyed state as the batch sees it (the StateReader of the batch).
type batchState struct{ b *batch }

func (s batchState) State(_ context.Context, key string) (string, bool, error) { return s.b.state(key) }

func (s batchState) ScanState(_ context.Context, prefix string, limit int) ([]StateEntry, error) {
	return s.b.scanState(prefix, limit)
}

// votesOf reads vote records (keys VotesPrefix(id)+voter) as voter → option.
func votesOf(id uint64, entries []StateEntry) map[AccountID]VoteOption {
	prefix := VotesPrefix(id)
	votes := make(map[AccountID]VoteOption, len(entries))
	for _, e := range entries {
		votes[AccountID(strings.TrimPrefix(e.Key, prefix))] = VoteOption(e.Value)
	}
	return votes
}

// installPolicy puts a passed policy module in force: the module joins (or replaces its
// namesake in) the modules governance added to the policy, which every replica loads.
func (b *batch) installPolicy(p *Proposal, w *stateWrites, data map[string]string) error {
	text, _, err := b.getState(w, keyGovPolicy)
	if err != nil {
		return err
	}
	mods, err := DecodePolicyModules(text)
	if err != nil {
		return err
	}
	mods[p.Content.Module] = p.Content.Rego
	w.put(keyGovPolicy, encodeRecord(mods))
	data["proposal"], data["module"] = strconv.FormatUint(p.ID, 10), p.Content.Module
	return nil
}
