package teg

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
)

// maxEvidenceTextBound is the hard bound of a dispute text, whatever the parameters say.
const maxEvidenceTextBound = 64 << 10

// maxCandidates bounds the candidates a command may name.
const maxCandidates = 4096

// disputeTx is one dispute command being applied. It uses a stakeTx for its state writes,
// postings and event data, and for the slashes.
type disputeTx struct {
	x        *stakeTx
	c        *Command
	a        *DisputeArgs
	dp       DisputeParams
	d        *Dispute
	deadline time.Time // the dispute's deadline when it was read (its queue key)
	// from, to and amount are what the command's transfer record shows (kept here, not as a
	// pointer to the record, so the record stays on the stack of the ledger's hot path).
	trFrom, trTo AccountID
	trAmount     avt.Amount
	spend        spendChange
}

// applyDispute applies a dispute command: its postings and event data, its state writes. Nothing
// is changed when it returns an error.
func (b *batch) applyDispute(c *Command, t *Transfer, ps []Posting) ([]Posting, map[string]string, *stateWrites, spendChange, error) {
	x := b.stakeTx(c, ps)
	dt := &disputeTx{x: x, c: c, a: c.Dispute, dp: b.params.DisputeRules()}
	if len(dt.a.Text) > dt.dp.MaxEvidenceText {
		return nil, nil, nil, spendChange{}, ErrEvidenceTooLarge.With("field", "text").With("max_bytes", dt.dp.MaxEvidenceText)
	}
	if len(dt.a.Candidates) > maxCandidates {
		return nil, nil, nil, spendChange{}, ErrPanelUnavailable.With("field", "candidates").With("max", maxCandidates)
	}
	var err error
	if c.Kind == KindDisputeFile {
		err = dt.file()
	} else if err = dt.load(); err == nil {
		switch c.Kind {
		case KindDisputeEvidence:
			err = dt.evidence()
		case KindDisputeCommit:
			err = dt.commit()
		case KindDisputeReveal:
			err = dt.reveal()
		case KindDisputeAppeal:
			err = dt.appeal()
		case KindDisputeWithdraw, KindDisputeReject:
			err = dt.withdraw()
		case KindDisputeAdvance:
			err = dt.advance()
		}
	}
	if err != nil {
		return nil, nil, nil, spendChange{}, err
	}
	dt.save()
	x.flush()
	x.data["dispute"] = dt.d.ID
	x.data["state"] = string(dt.d.State)
	t.From, t.To, t.Amount = dt.trFrom, dt.trTo, dt.trAmount
	if t.From == "" {
		t.From = c.From
	}
	for _, id := range [2]AccountID{t.From, t.To} {
		if id != "" {
			if _, err := b.account(id); err != nil {
				return nil, nil, nil, spendChange{}, accountErr(id, err)
			}
		}
	}
	return x.ps, x.data, &x.w, dt.spend, nil
}

func (dt *disputeTx) load() error {
	text, ok, err := dt.x.b.getState(&dt.x.w, DisputeKey(dt.a.Dispute))
	if err != nil {
		return err
	}
	if !ok {
		return ErrDisputeNotFound.With("dispute", dt.a.Dispute)
	}
	if dt.d, err = DecodeDispute(text); err != nil {
		return err
	}
	dt.deadline = dt.d.Deadline
	if dt.d.State.Final() {
		return ErrDisputeClosed.With("dispute", dt.d.ID).With("state", string(dt.d.State))
	}
	return nil
}

// save writes the dispute's record and moves its entry in the deadline queue.
func (dt *disputeTx) save() {
	w := &dt.x.w
	if !dt.deadline.IsZero() && !dt.deadline.Equal(dt.d.Deadline) {
		w.del(disputeQueueKey(dt.deadline, dt.d.ID))
	}
	if !dt.d.Deadline.IsZero() {
		w.put(disputeQueueKey(dt.d.Deadline, dt.d.ID), dt.d.ID)
	}
	w.put(DisputeKey(dt.d.ID), encodeRecord(dt.d))
}

// to moves the dispute to state s (a legal transition) with its next deadline (zero: none).
func (dt *disputeTx) to(s DisputeState, deadline time.Time) error {
	if !LegalTransition(dt.d.State, s) {
		return apperr.Internalf("dispute %s: illegal transition %s → %s", dt.d.ID, dt.d.State, s)
	}
	dt.x.data["from_state"] = string(dt.d.State)
	dt.d.History = append(dt.d.History, Transition{From: dt.d.State, To: s, At: dt.x.b.now})
	dt.d.State, dt.d.Deadline = s, deadline
	return nil
}

func (dt *disputeTx) seconds(s int64) time.Time {
	return dt.x.b.now.Add(time.Duration(s) * time.Second)
}

// deposit moves a fee from the command's sender into DisputeEscrow, after checking it can pay.
func (dt *disputeTx) deposit(fee avt.Amount) error {
	b := dt.x.b
	if err := b.checkPayer(dt.c.From); err != nil {
		return err
	}
	if have := b.accounts[b.aidx[dt.c.From]].Liquid; have.Cmp(fee) < 0 {
		return ErrInsufficient.With("account", string(dt.c.From)).With("required", fee.String()).With("available", have.String())
	}
	dt.x.move(dt.c.From, DisputeEscrow, fee)
	dt.d.Fees = append(dt.d.Fees, FeeDeposit{Payer: dt.c.From, Amount: fee})
	dt.trFrom, dt.trTo, dt.trAmount = dt.c.From, DisputeEscrow, fee
	dt.x.data["fee"] = fee.String()
	return nil
}

func (dt *disputeTx) file() error {
	b, c, a := dt.x.b, dt.c, dt.a
	if _, ok, err := b.getState(&dt.x.w, DisputeKey(a.Dispute)); err != nil {
		return err
	} else if ok {
		return ErrDisputeExists.With("dispute", a.Dispute)
	}
	respondent := c.To
	var pending *Transfer
	if a.Transfer != "" {
		tr, ok, err := b.transfer(a.Transfer)
		if err != nil {
			return apperr.Internalf("read transfer %s: %w", a.Transfer, err)
		}
		if !ok {
			return ErrDisputeTransfer.With("transfer", a.Transfer)
		}
		other := tr.To
		if tr.To == c.From {
			other = tr.From
		} else if tr.From != c.From {
			return ErrDisputeNotYourPayment.With("transfer", a.Transfer)
		}
		if other == "" || other == c.From || other.IsSystem() || (respondent != "" && respondent != other) {
			return ErrDisputeNotYourPayment.With("transfer", a.Transfer)
		}
		respondent = other
		if tr.Kind == KindPending {
			switch {
			case tr.State == PendingFrozen:
				return ErrPendingFrozen.With("transfer", a.Transfer)
			case tr.State == PendingActive && (tr.ExpiresAt == nil || b.now.Before(*tr.ExpiresAt)):
				pending = &tr
			}
		}
	}
	if err := b.checkReceive(respondent); err != nil {
		return err
	}
	dt.d = &Dispute{ID: a.Dispute, Filer: c.From, Respondent: respondent, Category: a.Category, Claim: a.Text, Transfer: a.Transfer,
		State: DisputeOpen, Deadline: dt.seconds(dt.dp.EvidenceSeconds), History: []Transition{{To: DisputeOpen, At: b.now}}, FiledAt: b.now}
	if err := dt.deposit(dt.dp.FilingFee); err != nil {
		return err
	}
	// Nothing can refuse the command any more (the fee is covered): freeze the payment.
	if pending != nil {
		pending.State = PendingFrozen
		b.putTransfer(pending)
		dt.d.Frozen = true
		dt.x.data["frozen"] = pending.ID
	}
	dt.x.w.put(DisputesOfPrefix(dt.d.Filer)+dt.d.ID, SideFiler)
	dt.x.w.put(DisputesOfPrefix(respondent)+dt.d.ID, SideRespondent)
	dt.x.data["respondent"] = string(respondent)
	dt.x.data["category"] = a.Category
	return nil
}

func (dt *disputeTx) evidence() error {
	d := dt.d
	if !d.Party(dt.c.From) {
		return ErrDisputeNotParty.With("dispute", d.ID)
	}
	if d.State != DisputeOpen && d.State != DisputeEvidence {
		return ErrDisputeState.With("dispute", d.ID).With("state", string(d.State)).With("reason", "evidence is submitted before arbitration")
	}
	if !dt.x.b.now.Before(d.Deadline) {
		return ErrVoteClosed.With("dispute", d.ID).With("deadline", d.Deadline.Format(time.RFC3339Nano))
	}
	if d.Evidence >= dt.dp.MaxEvidence {
		return ErrEvidenceLimit.With("dispute", d.ID).With("max", dt.dp.MaxEvidence)
	}
	d.Evidence++
	e := Evidence{Dispute: d.ID, N: d.Evidence, Party: dt.c.From, Hash: dt.a.Hash, URI: dt.a.URI, Text: dt.a.Text, At: dt.x.b.now}
	dt.x.w.put(evidenceKey(d.ID, e.N), encodeRecord(e))
	dt.x.data["evidence"] = strconv.Itoa(e.N)
	if d.State == DisputeOpen {
		return dt.to(DisputeEvidence, d.Deadline)
	}
	return nil
}

// vote returns the sender's vote in the current round, checking the dispute is being voted on.
func (dt *disputeTx) vote() (*Round, *Vote, error) {
	d := dt.d
	if d.State != DisputeArbitration && d.State != DisputeAppealed {
		return nil, nil, ErrDisputeState.With("dispute", d.ID).With("state", string(d.State)).With("reason", "no vote is open")
	}
	r := d.Round()
	i := slices.Index(r.Panel, dt.c.From)
	if i < 0 {
		return nil, nil, ErrDisputeNotPanelist.With("dispute", d.ID)
	}
	return r, &r.Votes[i], nil
}

func (dt *disputeTx) commit() error {
	r, v, err := dt.vote()
	if err != nil {
		return err
	}
	now := dt.x.b.now
	if !now.Before(r.CommitDeadline) {
		return ErrVoteClosed.With("dispute", dt.d.ID).With("deadline", r.CommitDeadline.Format(time.RFC3339Nano))
	}
	if v.Commitment != "" {
		return ErrAlreadyCommitted.With("dispute", dt.d.ID)
	}
	v.Commitment, v.CommittedAt = strings.ToLower(dt.a.Commitment), now
	return nil
}

func (dt *disputeTx) reveal() error {
	r, v, err := dt.vote()
	if err != nil {
		return err
	}
	now := dt.x.b.now
	if now.Before(r.CommitDeadline) {
		return ErrRevealNotOpen.With("dispute", dt.d.ID).With("opens_at", r.CommitDeadline.Format(time.RFC3339Nano))
	}
	if !now.Before(r.RevealDeadline) {
		return ErrVoteClosed.With("dispute", dt.d.ID).With("deadline", r.RevealDeadline.Format(time.RFC3339Nano))
	}
	switch {
	case v.Commitment == "":
		return ErrNotCommitted.With("dispute", dt.d.ID)
	case v.Vote != "":
		return ErrAlreadyRevealed.With("dispute", dt.d.ID)
	case CommitmentOf(dt.d.ID, dt.c.From, dt.a.Vote, dt.a.Salt) != v.Commitment:
		return ErrRevealMismatch.With("dispute", dt.d.ID)
	}
	v.Vote, v.RevealedAt = dt.a.Vote, now
	dt.x.data["vote"] = v.Vote
	return nil
}

// draw draws round n's panel of size members from the command's candidates: active validators
// other than the parties, weighted by their pools' bonded tokens.
func (dt *disputeTx) draw(n, size int) (*Round, error) {
	ids := slices.Clone(dt.a.Candidates)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var cands []Candidate
	for _, id := range ids {
		if dt.d.Party(id) || id.IsSystem() || !validPoolName(id) {
			continue
		}
		p, err := dt.x.pool(id)
		if err != nil {
			return nil, err
		}
		if p == nil || !p.Validator || p.Jailed || p.TotalTokens().IsZero() {
			continue
		}
		cands = append(cands, Candidate{ID: id, Weight: p.TotalTokens()})
	}
	prev := dt.x.b.head.Hash
	if prev == "" {
		prev = GenesisHash
	}
	seed := PanelSeed(prev, dt.d.ID, n)
	panel := DrawPanel(seed, cands, size)
	if panel == nil {
		return nil, ErrPanelUnavailable.With("dispute", dt.d.ID).With("eligible", len(cands)).With("needed", size)
	}
	commit := dt.seconds(dt.dp.CommitSeconds)
	r := Round{Number: n, Seed: seed, Candidates: cands, Panel: panel, CommitDeadline: commit,
		RevealDeadline: commit.Add(time.Duration(dt.dp.RevealSeconds) * time.Second)}
	for _, id := range panel {
		r.Votes = append(r.Votes, Vote{Arbitrator: id})
		dt.x.w.put(DisputesOfPrefix(id)+dt.d.ID, "panel")
	}
	dt.x.data["seed"] = seed
	dt.x.data["panel"] = joinIDs(panel)
	return &r, nil
}

func joinIDs(ids []AccountID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, ",")
}

func (dt *disputeTx) appeal() error {
	d := dt.d
	if !d.Party(dt.c.From) {
		return ErrDisputeNotParty.With("dispute", d.ID)
	}
	if len(d.Rounds) >= 2 {
		return ErrAppealUsed.With("dispute", d.ID)
	}
	if d.State != DisputeRuled {
		return ErrDisputeState.With("dispute", d.ID).With("state", string(d.State)).With("reason", "only a ruling is appealed")
	}
	if !dt.x.b.now.Before(d.Deadline) {
		return ErrAppealClosed.With("dispute", d.ID).With("deadline", d.Deadline.Format(time.RFC3339Nano))
	}
	if d.Side(d.Round().Ruling) == dt.c.From {
		return ErrNotAppellant.With("dispute", d.ID)
	}
	r, err := dt.draw(2, 2*dt.dp.PanelSize)
	if err != nil {
		return err
	}
	fee, _ := dt.dp.FilingFee.Add(dt.dp.FilingFee)
	if err := dt.deposit(fee); err != nil {
		return err
	}
	d.Rounds = append(d.Rounds, *r)
	return dt.to(DisputeAppealed, r.RevealDeadline)
}

func (dt *disputeTx) withdraw() error {
	d := dt.d
	if dt.c.Kind == KindDisputeWithdraw {
		if !d.Party(dt.c.From) {
			return ErrDisputeNotParty.With("dispute", d.ID)
		}
		if dt.c.From != d.Filer {
			return ErrDisputeNotFiler.With("dispute", d.ID)
		}
	}
	if d.State != DisputeOpen && d.State != DisputeEvidence {
		return ErrDisputeState.With("dispute", d.ID).With("state", string(d.State)).With("reason", "a dispute is withdrawn or rejected before arbitration")
	}
	// The fee is forfeited to the treasury: filing, which freezes a payment, is not free.
	if err := dt.release(false); err != nil {
		return err
	}
	if dt.c.Kind == KindDisputeReject {
		return dt.to(DisputeRejected, time.Time{})
	}
	return dt.to(DisputeWithdrawn, time.Time{})
}

// release empties the dispute's escrow — back to the payers with refund, else to the treasury —
// and unfreezes its payment.
func (dt *disputeTx) release(refund bool) error {
	for _, f := range dt.d.Fees {
		to := Treasury
		if refund {
			to = f.Payer
			if err := dt.x.b.checkReceive(to); err != nil {
				to = Treasury
			}
		}
		dt.x.move(DisputeEscrow, to, f.Amount)
	}
	dt.d.Fees = nil
	if !dt.d.Frozen {
		return nil
	}
	p, err := dt.frozen()
	if err != nil {
		return err
	}
	p.State = PendingActive
	dt.x.b.putTransfer(&p)
	dt.d.Frozen = false
	dt.x.data["unfrozen"] = p.ID
	return nil
}

func (dt *disputeTx) frozen() (Transfer, error) {
	p, ok, err := dt.x.b.transfer(dt.d.Transfer)
	if err != nil {
		return Transfer{}, apperr.Internalf("read transfer %s: %w", dt.d.Transfer, err)
	}
	if !ok || p.State != PendingFrozen {
		return Transfer{}, apperr.Internalf("dispute %s: its payment %s is not frozen", dt.d.ID, dt.d.Transfer)
	}
	return p, nil
}

// advance takes the step the dispute's passed deadline makes due.
func (dt *disputeTx) advance() error {
	d := dt.d
	if d.State != dt.a.From {
		return ErrDisputeState.With("dispute", d.ID).With("state", string(d.State)).With("expected", string(dt.a.From))
	}
	if dt.x.b.now.Before(d.Deadline) {
		return ErrDisputeNotDue.With("dispute", d.ID).With("due_at", d.Deadline.Format(time.RFC3339Nano))
	}
	switch d.State {
	case DisputeOpen: // nobody submitted evidence
		if err := dt.release(true); err != nil {
			return err
		}
		return dt.to(DisputeExpired, time.Time{})
	case DisputeEvidence:
		r, err := dt.draw(1, dt.dp.PanelSize)
		if apperr.CodeOf(err) == ErrPanelUnavailable.Code {
			if err := dt.release(true); err != nil {
				return err
			}
			dt.x.data["reason"] = "not enough eligible arbitrators"
			return dt.to(DisputeExpired, time.Time{})
		}
		if err != nil {
			return err
		}
		d.Rounds = append(d.Rounds, *r)
		return dt.to(DisputeArbitration, r.RevealDeadline)
	case DisputeArbitration, DisputeAppealed:
		return dt.tally()
	case DisputeRuled:
		return dt.close()
	}
	return ErrDisputeState.With("dispute", d.ID).With("state", string(d.State))
}

// tally counts the current round's revealed votes, slashes the panelists who revealed none, and
// rules. A first round without a majority ends the dispute (EXPIRED, fees refunded); an appeal
// without one leaves the first ruling standing.
func (dt *disputeTx) tally() error {
	d := dt.d
	r := d.Round()
	var filer, respondent []AccountID
	for _, v := range r.Votes {
		switch v.Vote {
		case SideFiler:
			filer = append(filer, v.Arbitrator)
		case SideRespondent:
			respondent = append(respondent, v.Arbitrator)
		default:
			r.NonVoters = append(r.NonVoters, v.Arbitrator)
		}
	}
	var slashed avt.Amount
	for _, id := range r.NonVoters {
		p, err := dt.x.pool(id)
		if err != nil {
			return err
		}
		if p == nil || !p.Validator {
			continue
		}
		cut, err := dt.x.slashPool(p, dt.dp.NonVoterSlashBps, Treasury)
		if err != nil {
			return err
		}
		slashed, _ = slashed.Add(cut)
	}
	for _, k := range []string{"validator", "fraction_bps", "bonded_slashed", "unbonding_slashed"} {
		delete(dt.x.data, k) // slashPool's per-pool details; the totals follow
	}
	dt.x.data["non_voters"] = joinIDs(r.NonVoters)
	dt.x.data["non_voters_slashed"] = slashed.String()
	switch {
	case len(filer) > len(respondent):
		r.Ruling, r.Majority = SideFiler, filer
	case len(respondent) > len(filer):
		r.Ruling, r.Majority = SideRespondent, respondent
	}
	dt.trFrom, dt.trTo, dt.trAmount = Bonded, Treasury, slashed
	dt.x.data["ruling"] = r.Ruling
	if r.Ruling == "" && r.Number == 1 {
		if err := dt.release(true); err != nil {
			return err
		}
		dt.x.data["reason"] = "no majority"
		return dt.to(DisputeExpired, time.Time{})
	}
	if r.Number == 1 {
		return dt.to(DisputeRuled, dt.seconds(dt.dp.AppealSeconds))
	}
	return dt.to(DisputeRuled, dt.x.b.now)
}

// ruling is the round whose ruling stands: the last one with a majority.
func (d *Dispute) ruling() *Round {
	for i := len(d.Rounds) - 1; i >= 0; i-- {
		if d.Rounds[i].Ruling != "" {
			return &d.Rounds[i]
		}
	}
	return nil
}

// close applies the ruling: the winner's fees come back; the loser's go to the majority (a
// loser who paid none pays the round's fee from its liquid balance, as far as it covers it); the
// loser's own stake is slashed; the frozen payment goes to the winner; the loss is recorded.
func (dt *disputeTx) close() error {
	d, x, b := dt.d, dt.x, dt.x.b
	r := d.ruling()
	if r == nil {
		return apperr.Internalf("dispute %s: ruled without a ruling", d.ID)
	}
	winner := d.Side(r.Ruling)
	loser := d.Filer
	if winner == d.Filer {
		loser = d.Respondent
	}
	var pot avt.Amount
	for _, f := range d.Fees {
		if f.Payer == winner {
			x.move(DisputeEscrow, winner, f.Amount)
		} else {
			pot, _ = pot.Add(f.Amount)
		}
	}
	d.Fees = nil
	source := DisputeEscrow
	if pot.IsZero() {
		source = loser
		pot = dt.dp.FilingFee.MulDivFloor(uint64(len(d.Rounds)), 1)
		i, err := b.account(loser)
		if err != nil {
			return accountErr(loser, err)
		}
		if have := b.accounts[i].Liquid; have.Cmp(pot) < 0 {
			pot = have
		}
	}
	dt.payMajority(source, pot, r.Majority)
	slashed, err := x.slashAgent(loser, dt.dp.LoserSlashBps)
	if err != nil {
		return err
	}
	if d.Frozen {
		if err := dt.settleFrozen(winner); err != nil {
			return err
		}
	}
	d.Winner, d.Loser = winner, loser
	x.w.put(disputeLostKey(loser, b.now, d.ID), d.ID)
	dt.trFrom, dt.trTo, dt.trAmount = loser, winner, pot
	x.data["winner"], x.data["loser"] = string(winner), string(loser)
	x.data["forfeited"] = pot.String()
	x.data["loser_slashed"] = slashed.String()
	return dt.to(DisputeClosed, time.Time{})
}

// payMajority splits pot from source among the majority in equal shares, the base units left
// over one each to the first of them; a share its arbitrator cannot receive goes to the treasury.
func (dt *disputeTx) payMajority(source AccountID, pot avt.Amount, majority []AccountID) {
	if pot.IsZero() {
		return
	}
	if len(majority) == 0 {
		dt.x.move(source, Treasury, pot)
		return
	}
	n := uint64(len(majority))
	share := pot.MulDivFloor(1, n)
	paid := share.MulDivFloor(n, 1)
	rest, _ := pot.Sub(paid)
	one := avt.FromUnits(1)
	for _, id := range majority {
		amt := share
		if !rest.IsZero() {
			amt, _ = amt.Add(one)
			rest, _ = rest.Sub(one)
		}
		to := id
		if err := dt.x.b.checkReceive(id); err != nil {
			to = Treasury
		}
		dt.x.move(source, to, amt)
	}
}

// settleFrozen pays the frozen payment to the winner: posted in full to a winning payee (with
// its fee), voided back to a winning payer.
func (dt *disputeTx) settleFrozen(winner AccountID) error {
	p, err := dt.frozen()
	if err != nil {
		return err
	}
	x := dt.x
	if winner == p.To && x.b.checkReceive(p.To) == nil {
		x.ps = append(x.ps, Posting{Account: p.From, Part: Locked, Amount: p.Amount, Debit: true}, Posting{Account: p.To, Part: Liquid, Amount: p.Amount})
		x.ps = x.b.appendFee(x.ps, p.From, Locked, p.Fee)
		spent, _ := p.Amount.Add(p.Fee)
		if refund, _ := p.Held.Sub(spent); !refund.IsZero() {
			x.ps = append(x.ps, Posting{Account: p.From, Part: Locked, Amount: refund, Debit: true}, Posting{Account: p.From, Part: Liquid, Amount: refund})
		}
		p.State = PendingPosted
		x.data["payment"] = "posted"
	} else {
		x.ps = append(x.ps, Posting{Account: p.From, Part: Locked, Amount: p.Held, Debit: true}, Posting{Account: p.From, Part: Liquid, Amount: p.Held})
		p.State = PendingVoided
		dt.spend = spendChange{account: p.From, amount: p.Amount, refundOf: p.CreatedAt}
		x.data["payment"] = "voided"
	}
	x.b.putTransfer(&p)
	dt.d.Frozen = false
	return nil
}

// slashAgent takes fraction f of an agent's own stake — each of its delegations (its
// self-delegation included) and unbonding entries — to the treasury. Unlike a validator slash,
// the other delegators of the agent's validator keep their stake: the agent answers for itself.
func (x *stakeTx) slashAgent(agent AccountID, f uint64) (avt.Amount, error) {
	var total avt.Amount
	if f == 0 {
		return total, nil
	}
	dels, err := x.b.scanState(DelegationsPrefix(agent), 0)
	if err != nil {
		return total, err
	}
	var bonded avt.Amount
	for _, e := range dels {
		pool := AccountID(e.Key[len(DelegationsPrefix(agent)):])
		p, err := x.pool(pool)
		if err != nil {
			return total, err
		}
		d, err := x.delegation(agent, pool)
		if err != nil {
			return total, err
		}
		if p == nil || d == nil {
			return total, errCorruptState(e.Key)
		}
		cut := bps(p.Value(d), f)
		if cut.IsZero() {
			continue
		}
		if err := x.unbond(p, agent, cut); err != nil {
			return total, err
		}
		if err := x.checkSelfStake(p); err != nil {
			return total, err
		}
		bonded, _ = bonded.Add(cut)
	}
	ubd, err := x.b.scanState(UnbondingPrefix(agent), 0)
	if err != nil {
		return total, err
	}
	var unbonding avt.Amount
	for _, e := range ubd {
		cut, err := x.cutUnbonding(e.Key, f)
		if err != nil {
			return total, err
		}
		unbonding, _ = unbonding.Add(cut)
	}
	x.move(Bonded, Treasury, bonded)
	x.move(UnbondingPool, Treasury, unbonding)
	total, _ = bonded.Add(unbonding)
	return total, nil
}
