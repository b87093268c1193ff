package teg

import (
	"context"
	"fmt"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/teg/fee"
)

// Reader is what the ledger reads of the current state. Account returns ErrAccountNotFound for
// an unknown account; Transfer reports whether a transfer with the id exists.
type Reader interface {
	Account(ctx context.Context, id AccountID) (Account, error)
	Transfer(ctx context.Context, id string) (Transfer, bool, error)
}

// Params are the ledger's parameters (part of the governance-controlled parameter set).
type Params struct {
	Version int
	Fee     fee.Schedule
}

// DefaultParams are the defaults of DESIGN.md §8.1.
func DefaultParams() Params { return Params{Version: 1, Fee: fee.Default()} }

// Result is the outcome of one command: the transfer it made (or, for a replay, made before),
// or the error that refused it.
type Result struct {
	Transfer Transfer
	Replayed bool
	Err      error
}

// Changes is what applying a batch changed: the accounts to write (those an applied command
// changed or opened, with their new balances and versions), the transfers to insert or update, and the events to append, in order.
type Changes struct {
	Accounts  []Account
	Transfers []Transfer
	Events    []Event
	Head      Head
}

// Ledger applies commands. It holds no state between calls; it is safe for concurrent use, but
// calls that touch the same accounts must be serialized by the caller (the adapter's single
// writer), because each is computed against the state it reads.
type Ledger struct {
	Params Params
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// batch is the working set of one Apply: a copy-on-write overlay over the Reader.
type batch struct {
	ctx       context.Context
	r         Reader
	params    Params
	now       time.Time
	accounts  map[AccountID]*Account
	order     []AccountID
	dirty     map[AccountID]bool // changed by an applied command (only these are written)
	transfers map[string]*Transfer
	torder    []string
	events    []Event
	head      Head
}

// Apply runs cmds against the state r reads, after the event log's head. When linked is true the
// batch is all-or-nothing: the first refused command fails the whole batch, with its index in
// the error's details, and nothing changes. Otherwise each command stands alone and its Result
// says whether it was applied. A command whose id was applied before with the same content
// returns its first result, marked Replayed, and changes nothing.
func (l *Ledger) Apply(ctx context.Context, r Reader, head Head, cmds []Command, linked bool) (*Changes, []Result, error) {
	if len(cmds) == 0 {
		return nil, nil, ErrEmptyBatch
	}
	if len(cmds) > MaxBatch {
		return nil, nil, ErrBatchTooLarge.With("max", MaxBatch).With("count", len(cmds))
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	b := &batch{ctx: ctx, r: r, params: l.Params, now: now().UTC().Truncate(time.Microsecond),
		accounts: map[AccountID]*Account{}, dirty: map[AccountID]bool{}, transfers: map[string]*Transfer{}, head: head}
	seen := make(map[string]int, len(cmds))
	results := make([]Result, len(cmds))
	for i, c := range cmds {
		if j, dup := seen[c.ID]; dup && c.ID != "" {
			err := ErrDuplicateInBatch.With("index", i).With("first_index", j).With("id", c.ID)
			if linked {
				return nil, nil, err
			}
			results[i] = Result{Err: err}
			continue
		}
		seen[c.ID] = i
		res := b.apply(c)
		if res.Err != nil {
			if ae, ok := apperr.As(res.Err); ok && ae.Kind == apperr.Internal {
				return nil, nil, res.Err
			}
			if linked {
				if ae, ok := apperr.As(res.Err); ok {
					return nil, nil, ae.With("index", i)
				}
				return nil, nil, res.Err
			}
		}
		results[i] = res
	}
	ch := &Changes{Events: b.events, Head: b.head}
	for _, id := range b.order {
		if b.dirty[id] {
			ch.Accounts = append(ch.Accounts, *b.accounts[id])
		}
	}
	for _, id := range b.torder {
		ch.Transfers = append(ch.Transfers, *b.transfers[id])
	}
	return ch, results, nil
}

func (b *batch) account(id AccountID) (*Account, error) {
	if a, ok := b.accounts[id]; ok {
		return a, nil
	}
	a, err := b.r.Account(b.ctx, id)
	if err != nil {
		if apperr.KindOf(err) == apperr.NotFound && id.IsSystem() && isKnownSystem(id) {
			a = Account{ID: id, CreatedAt: b.now}
		} else {
			return nil, err
		}
	}
	b.accounts[id] = &a
	b.order = append(b.order, id)
	return &a, nil
}

func isKnownSystem(id AccountID) bool {
	for _, s := range SystemAccounts {
		if s == id {
			return true
		}
	}
	return false
}

func (b *batch) transfer(id string) (*Transfer, bool, error) {
	if t, ok := b.transfers[id]; ok {
		return t, true, nil
	}
	t, ok, err := b.r.Transfer(b.ctx, id)
	if err != nil || !ok {
		return nil, false, err
	}
	return &t, true, nil
}

func (b *batch) putTransfer(t *Transfer) {
	if _, ok := b.transfers[t.ID]; !ok {
		b.torder = append(b.torder, t.ID)
	}
	b.transfers[t.ID] = t
}

// apply validates one command completely, then applies it; a refused command changes nothing.
func (b *batch) apply(c Command) Result {
	if err := validate(c); err != nil {
		return Result{Err: err}
	}
	fp := c.Fingerprint()
	if prev, ok, err := b.transfer(c.ID); err != nil {
		return Result{Err: apperr.Internalf("read transfer %s: %w", c.ID, err)}
	} else if ok {
		if prev.Fingerprint != fp {
			return Result{Err: ErrIdempotencyReused.With("id", c.ID)}
		}
		return Result{Transfer: *prev, Replayed: true}
	}
	t := Transfer{ID: c.ID, Kind: c.Kind, From: c.From, To: c.To, Amount: c.Amount, Message: c.Message,
		PendingID: c.PendingID, Fingerprint: fp, CreatedAt: b.now}
	var (
		postings []Posting
		data     map[string]string
		err      error
	)
	switch c.Kind {
	case KindOpen:
		postings, err = b.open(c)
	case KindTransfer:
		postings, data, err = b.plain(c, &t)
	case KindPending:
		postings, err = b.pending(c, &t)
	case KindPost:
		postings, data, err = b.post(c, &t)
	case KindVoid, KindExpire:
		postings, err = b.void(c, &t)
	case KindMint:
		t.To = Treasury
		postings = []Posting{{Account: Treasury, Part: Liquid, Amount: c.Amount}}
	case KindBurn:
		t.To = Burn
		postings = []Posting{{Account: c.From, Part: Liquid, Amount: c.Amount, Debit: true}, {Account: Burn, Part: Liquid, Amount: c.Amount}}
	case KindGrant:
		t.From = Treasury
		postings = []Posting{{Account: Treasury, Part: Liquid, Amount: c.Amount, Debit: true}, {Account: c.To, Part: Liquid, Amount: c.Amount}}
	}
	if err != nil {
		return Result{Err: err}
	}
	if err := b.applyPostings(postings, c); err != nil {
		return Result{Err: err}
	}
	b.head.Seq++
	t.Seq = b.head.Seq
	ev := Event{Seq: b.head.Seq, Time: b.now, Kind: c.Kind, TransferID: c.ID, Postings: postings, Data: data, PrevHash: b.head.Hash}
	if ev.PrevHash == "" {
		ev.PrevHash = GenesisHash
	}
	ev.Hash = ev.ComputeHash()
	b.head.Hash = ev.Hash
	b.events = append(b.events, ev)
	b.putTransfer(&t)
	return Result{Transfer: t}
}

func validate(c Command) error {
	if c.ID == "" || len(c.ID) > MaxIDLen {
		return ErrInvalidID.With("field", "id")
	}
	for i := 0; i < len(c.ID); i++ {
		if c.ID[i] < 0x21 || c.ID[i] > 0x7e {
			return ErrInvalidID.With("field", "id")
		}
	}
	if len(c.Message) > MaxMessageBytes {
		return ErrMessageTooLong.With("field", "message").With("max_bytes", MaxMessageBytes)
	}
	switch c.Kind {
	case KindOpen:
		return nil
	case KindVoid, KindExpire:
		if c.PendingID == "" {
			return ErrPendingNotFound.With("field", "pending_id")
		}
		return nil
	case KindPost:
		if c.PendingID == "" {
			return ErrPendingNotFound.With("field", "pending_id")
		}
		if c.Partial && c.Amount.IsZero() {
			return ErrZeroAmount.With("field", "amount")
		}
		return nil
	case KindTransfer, KindPending, KindMint, KindBurn, KindGrant:
	default:
		return ErrInvalidCommand.With("field", "kind").With("kind", string(c.Kind))
	}
	if c.Amount.IsZero() {
		return ErrZeroAmount.With("field", "amount")
	}
	if (c.Kind == KindTransfer || c.Kind == KindPending) && c.From == c.To {
		return ErrSelfTransfer.With("field", "to")
	}
	if c.Kind == KindPending && c.Timeout != 0 && (c.Timeout < MinPendingTimeout || c.Timeout > MaxPendingTimeout) {
		return ErrBadTimeout.With("field", "timeout")
	}
	return nil
}

func (b *batch) open(c Command) ([]Posting, error) {
	if c.To == "" || c.To.IsSystem() {
		return nil, ErrSystemAccount.With("field", "to")
	}
	if _, err := b.r.Account(b.ctx, c.To); err == nil {
		return nil, ErrAccountExists.With("account", string(c.To))
	} else if apperr.KindOf(err) != apperr.NotFound {
		return nil, err
	}
	if _, ok := b.accounts[c.To]; ok {
		return nil, ErrAccountExists.With("account", string(c.To))
	}
	b.accounts[c.To] = &Account{ID: c.To, CreatedAt: b.now}
	b.order = append(b.order, c.To)
	b.dirty[c.To] = true
	return nil, nil
}

// feePostings charges fee to from's part p and splits it among the system accounts.
func (b *batch) feePostings(from AccountID, p Part, f avt.Amount) ([]Posting, map[string]string) {
	if f.IsZero() {
		return nil, nil
	}
	sp := b.params.Fee.Split(f)
	out := []Posting{{Account: from, Part: p, Amount: f, Debit: true}}
	for _, s := range []struct {
		id AccountID
		a  avt.Amount
	}{{Treasury, sp.Treasury}, {ValidatorPool, sp.Validators}, {StakingPool, sp.Stakers}, {Burn, sp.Burn}} {
		if !s.a.IsZero() {
			out = append(out, Posting{Account: s.id, Part: Liquid, Amount: s.a})
		}
	}
	return out, map[string]string{"fee": f.String(), "fee_treasury": sp.Treasury.String(), "fee_validators": sp.Validators.String(),
		"fee_stakers": sp.Stakers.String(), "fee_burn": sp.Burn.String()}
}

func (b *batch) plain(c Command, t *Transfer) ([]Posting, map[string]string, error) {
	f := b.params.Fee.Compute(c.Amount)
	t.Fee = f
	ps := []Posting{{Account: c.From, Part: Liquid, Amount: c.Amount, Debit: true}, {Account: c.To, Part: Liquid, Amount: c.Amount}}
	fp, data := b.feePostings(c.From, Liquid, f)
	return append(ps, fp...), data, nil
}

func (b *batch) pending(c Command, t *Transfer) ([]Posting, error) {
	if _, err := b.account(c.To); err != nil {
		return nil, err
	}
	f := b.params.Fee.Compute(c.Amount)
	held, ok := c.Amount.Add(f)
	if !ok {
		return nil, ErrOverflow.With("field", "amount")
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultPendingTimeout
	}
	exp := b.now.Add(timeout)
	t.Fee, t.Held, t.State, t.ExpiresAt = f, held, PendingActive, &exp
	return []Posting{{Account: c.From, Part: Liquid, Amount: held, Debit: true}, {Account: c.From, Part: Locked, Amount: held}}, nil
}

func (b *batch) activePending(c Command) (*Transfer, error) {
	p, ok, err := b.transfer(c.PendingID)
	if err != nil {
		return nil, apperr.Internalf("read pending %s: %w", c.PendingID, err)
	}
	if !ok || p.Kind != KindPending {
		return nil, ErrPendingNotFound.With("pending_id", c.PendingID)
	}
	if p.State != PendingActive {
		return nil, ErrPendingNotActive.With("pending_id", c.PendingID).With("state", string(p.State))
	}
	if c.Kind != KindExpire && p.ExpiresAt != nil && !b.now.Before(*p.ExpiresAt) {
		return nil, ErrPendingExpired.With("pending_id", c.PendingID)
	}
	if c.Kind == KindExpire && p.ExpiresAt != nil && b.now.Before(*p.ExpiresAt) {
		return nil, ErrPendingNotActive.With("pending_id", c.PendingID).With("reason", "not yet expired")
	}
	return p, nil
}

func (b *batch) post(c Command, t *Transfer) ([]Posting, map[string]string, error) {
	p, err := b.activePending(c)
	if err != nil {
		return nil, nil, err
	}
	amount := p.Amount
	if c.Partial {
		if c.Amount.Cmp(p.Amount) > 0 {
			return nil, nil, ErrPostTooLarge.With("field", "amount").With("pending_amount", p.Amount.String())
		}
		amount = c.Amount
	}
	f := b.params.Fee.Compute(amount)
	if f.Cmp(p.Fee) > 0 { // the fee is monotone in the amount; a smaller post never costs more
		f = p.Fee
	}
	spent, _ := amount.Add(f)
	refund, ok := p.Held.Sub(spent)
	if !ok {
		return nil, nil, apperr.Internalf("pending %s holds %s, post needs %s", p.ID, p.Held, spent)
	}
	t.From, t.To, t.Amount, t.Fee = p.From, p.To, amount, f
	ps := []Posting{{Account: p.From, Part: Locked, Amount: amount, Debit: true}, {Account: p.To, Part: Liquid, Amount: amount}}
	fp, data := b.feePostings(p.From, Locked, f)
	ps = append(ps, fp...)
	if !refund.IsZero() {
		ps = append(ps, Posting{Account: p.From, Part: Locked, Amount: refund, Debit: true}, Posting{Account: p.From, Part: Liquid, Amount: refund})
	}
	done := *p
	done.State = PendingPosted
	b.putTransfer(&done)
	return ps, data, nil
}

func (b *batch) void(c Command, t *Transfer) ([]Posting, error) {
	p, err := b.activePending(c)
	if err != nil {
		return nil, err
	}
	t.From, t.To, t.Amount = p.From, p.From, p.Held
	done := *p
	done.State = PendingVoided
	if c.Kind == KindExpire {
		done.State = PendingExpired
	}
	b.putTransfer(&done)
	return []Posting{{Account: p.From, Part: Locked, Amount: p.Held, Debit: true}, {Account: p.From, Part: Liquid, Amount: p.Held}}, nil
}

// applyPostings checks that every posting can be applied (accounts exist, no balance goes negative or
// overflows), then applies them all. Debits are checked against the balance after the earlier
// postings of the same command.
func (b *batch) applyPostings(ps []Posting, c Command) error {
	type key struct {
		id AccountID
		p  Part
	}
	next := map[key]avt.Amount{}
	for _, p := range ps {
		a, err := b.account(p.Account)
		if err != nil {
			if apperr.KindOf(err) == apperr.NotFound {
				return ErrAccountNotFound.With("account", string(p.Account))
			}
			return apperr.Internalf("read account %s: %w", p.Account, err)
		}
		k := key{p.Account, p.Part}
		cur, ok := next[k]
		if !ok {
			cur = *a.part(p.Part)
		}
		if p.Debit {
			nv, ok := cur.Sub(p.Amount)
			if !ok {
				required := p.Amount
				if c.Kind == KindTransfer {
					required, _ = c.Amount.Add(b.params.Fee.Compute(c.Amount))
				}
				return ErrInsufficient.With("account", string(p.Account)).With("required", required.String()).
					With("available", a.part(p.Part).String())
			}
			next[k] = nv
		} else {
			nv, ok := cur.Add(p.Amount)
			if !ok {
				return ErrOverflow.With("account", string(p.Account))
			}
			next[k] = nv
		}
	}
	for k, v := range next {
		a := b.accounts[k.id]
		*a.part(k.p) = v
		a.Version++
		b.dirty[k.id] = true
	}
	return nil
}

// String describes a command briefly, for logs.
func (c Command) String() string {
	return fmt.Sprintf("%s %s %s→%s %s", c.Kind, c.ID, c.From, c.To, c.Amount)
}
