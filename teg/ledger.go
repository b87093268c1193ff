package teg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
//
// The parameters in force are part of the ledger's state: the ledger is configured with version 1
// (Ledger.Params), and every KindParams command, an event of the log, replaces the whole set with
// the next version, which the head then carries (Head.Params) — so every replica applies the
// same parameters at the same point of the log.
type Params struct {
	Version int          `json:"version"`
	Fee     fee.Schedule `json:"fee"`
	// Tiers is the tier table, lowest first (empty: DefaultTiers).
	Tiers []Tier `json:"tiers"`
	// MaxSupply bounds all AVT ever minted (zero: DefaultMaxSupply). Keeping every balance and
	// every sum of balances far inside the amount range, it makes an overflow impossible.
	MaxSupply avt.Amount `json:"max_supply"`
	// Staking holds the numbers of staking, delegation and rewards.
	Staking StakingParams `json:"staking"`
	// Reputation holds the weights of the reputation score (zero, in sets made before they
	// were part of it: the defaults; see EffectiveReputation).
	Reputation ReputationWeights `json:"reputation,omitzero"`
	// Governance holds the numbers of governance (zero, in a set written before governance
	// existed: the defaults; see EffectiveGovernance).
	Governance GovernanceParams `json:"governance,omitzero"`
	// Attestations holds the attestation rewards and limits (zero: the defaults; see
	// EffectiveAttestations).
	Attestations AttestationParams `json:"attestations,omitzero"`
	// Disputes holds the numbers of disputes (zero: DefaultDisputeParams).
	Disputes DisputeParams `json:"disputes,omitzero"`
}

// DefaultMaxSupply is the most AVT that can ever be minted: 10^12 AVT (10^30 base units, about
// 0.3 % of the amount range).
var DefaultMaxSupply = avt.MustParse("1000000000000")

// DefaultParams are the ledger's default parameters: the fee schedule, the tier table and the
// supply bound.
func DefaultParams() Params {
	return Params{Version: 1, Fee: fee.Default(), Tiers: DefaultTiers(), MaxSupply: DefaultMaxSupply, Staking: DefaultStakingParams(),
		Reputation: DefaultReputationWeights(),
		Governance: DefaultGovernanceParams(), Disputes: DefaultDisputeParams(), Attestations: DefaultAttestationParams()}
}

// EffectiveMaxSupply is the supply bound in force.
func (p *Params) EffectiveMaxSupply() avt.Amount {
	if p.MaxSupply.IsZero() {
		return DefaultMaxSupply
	}
	return p.MaxSupply
}

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
	// State is the keyed state (StateReader) the batch changed: each key once, with its final
	// text ("" deletes it).
	State []StateEntry
	Head  Head
}

// Ledger applies commands. It holds no state between calls; it is safe for concurrent use, but
// calls that touch the same accounts must be serialized by the caller (the adapter's single
// writer), because each is computed against the state it reads.
type Ledger struct {
	Params Params
	// Now is the clock (default time.Now).
	Now func() time.Time

	cache ledgerCache
}

// batch is the working set of one Apply: a copy-on-write overlay over the Reader. Accounts and
// transfers are kept in slices in first-use order and found by id through an index; since
// appending may move the slices, their elements are addressed by index, never held by pointer
// across a call that may add one.
type batch struct {
	ctx    context.Context
	r      Reader
	params Params
	now    time.Time

	accounts []Account // every account read or opened, in first-use order
	dirty    []bool    // dirty[i]: accounts[i] was changed by an applied command (only these are written)
	aidx     map[AccountID]int32
	sys      [numSystem]int32 // index in accounts of each system account (AccountID.SystemIndex), or -1

	transfers []Transfer // the transfers to insert or update, in first-put order
	ids       map[string]idState

	events []Event
	head   Head

	stateOverlay map[string]string // the keyed state the batch changed ("": deleted)
	stateOrder   []string          // its keys, first change first

	postings []Posting // free space (len 0) of the arena the events' postings are cut from
	left     int       // commands not yet applied, to size the next arena chunk
	buf      []byte    // scratch for canonical encodings
}

// idState is what a batch knows of an id: the batch's command that carried it and the transfer
// the batch recorded under it (one map serves both the duplicate check and the transfer overlay).
type idState struct {
	cmd int32 // index in the batch of the command with this id, or -1
	tr  int32 // index in batch.transfers of the transfer with this id, or -1
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
	params, err := l.InForce(head)
	if err != nil {
		return nil, nil, err
	}
	n := len(cmds)
	na := min(2*n, 1024) + len(SystemAccounts) // a guess; the account set grows as needed
	b := &batch{ctx: ctx, r: r, params: params, now: now().UTC().Truncate(time.Microsecond), head: head,
		accounts: make([]Account, 0, na), dirty: make([]bool, 0, na), aidx: make(map[AccountID]int32, na),
		transfers: make([]Transfer, 0, n), ids: make(map[string]idState, n),
		events: make([]Event, 0, n), buf: make([]byte, 0, 1024)}
	for i := range b.sys {
		b.sys[i] = -1
	}
	results := make([]Result, n)
	for i := range cmds {
		c := &cmds[i]
		st, known := b.ids[c.ID]
		if known && st.cmd >= 0 && c.ID != "" {
			err := ErrDuplicateInBatch.With("index", i).With("first_index", int(st.cmd)).With("id", c.ID)
			if linked {
				return nil, nil, err
			}
			results[i] = Result{Err: err}
			continue
		}
		if !known {
			st.tr = -1
		}
		st.cmd = int32(i)
		b.left = n - i
		res := &results[i]
		b.apply(c, res, &st)
		b.ids[c.ID] = st
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
	}
	ch := &Changes{Head: b.head}
	if len(b.events) > 0 {
		ch.Events = b.events
	}
	if len(b.transfers) > 0 {
		ch.Transfers = b.transfers
	}
	if len(b.stateOrder) > 0 {
		ch.State = make([]StateEntry, len(b.stateOrder))
		for i, k := range b.stateOrder {
			ch.State[i] = StateEntry{k, b.stateOverlay[k]}
		}
	}
	nd := 0
	for _, d := range b.dirty {
		if d {
			nd++
		}
	}
	if nd > 0 {
		ch.Accounts = make([]Account, 0, nd)
		for i, d := range b.dirty {
			if d {
				ch.Accounts = append(ch.Accounts, b.accounts[i])
			}
		}
	}
	return ch, results, nil
}

// numSystem is len(SystemAccounts) (a constant, for batch.sys).
const numSystem = 10

// account returns the index in b.accounts of the account id, reading it on first use. The
// system accounts, which every fee credits, are found without a map lookup.
func (b *batch) account(id AccountID) (int32, error) {
	s := id.SystemIndex()
	if s >= 0 && b.sys[s] >= 0 {
		return b.sys[s], nil
	}
	i, err := b.lookupAccount(id)
	if s >= 0 && err == nil {
		b.sys[s] = i
	}
	return i, err
}

func (b *batch) lookupAccount(id AccountID) (int32, error) {
	if i, ok := b.aidx[id]; ok {
		return i, nil
	}
	a, err := b.r.Account(b.ctx, id)
	if err != nil {
		if apperr.KindOf(err) == apperr.NotFound && id.SystemIndex() >= 0 {
			a = Account{ID: id, CreatedAt: b.now}
		} else {
			return -1, err
		}
	}
	return b.addAccount(&a, false), nil
}

func (b *batch) addAccount(a *Account, dirty bool) int32 {
	i := int32(len(b.accounts))
	b.aidx[a.ID] = i
	b.accounts = append(b.accounts, *a)
	b.dirty = append(b.dirty, dirty)
	return i
}

// transfer returns the transfer id as this batch sees it: as the batch left it, or as stored.
func (b *batch) transfer(id string) (Transfer, bool, error) {
	if st, ok := b.ids[id]; ok && st.tr >= 0 {
		return b.transfers[st.tr], true, nil
	}
	return b.storedTransfer(id)
}

func (b *batch) storedTransfer(id string) (Transfer, bool, error) {
	t, ok, err := b.r.Transfer(b.ctx, id)
	if err != nil || !ok {
		return Transfer{}, false, err
	}
	return t, true, nil
}

// putTransfer records the update t of a pending transfer, which the batch or the store has. (The
// transfer of the command being applied is recorded by apply.)
func (b *batch) putTransfer(t *Transfer) {
	st, ok := b.ids[t.ID]
	if ok && st.tr >= 0 {
		b.transfers[st.tr] = *t
		return
	}
	if !ok {
		st.cmd = -1
	}
	st.tr = int32(len(b.transfers))
	b.ids[t.ID] = st
	b.transfers = append(b.transfers, *t)
}

// maxFeePostings is the most postings a fee makes: the payer's debit and four shares.
const maxFeePostings = 5

// maxPostings bounds the postings a command of kind k makes.
func maxPostings(k Kind) int {
	switch k {
	case KindOpen, KindStatus, KindParams:
		return 0
	case KindMint:
		return 1
	case KindTransfer:
		return 2 + maxFeePostings
	case KindPost:
		return 2 + maxFeePostings + 2
	case KindEpoch:
		return 8
	case KindStake, KindUnstake, KindRedelegate, KindValidatorCreate, KindClaim, KindCompound, KindSlash, KindRelease:
		return 6
	default:
		return 2
	}
}

// newPostings returns an empty slice with room for n postings, cut from the batch's arena so
// that a batch allocates its events' postings in a few chunks rather than one by one. The room
// is only taken by takePostings, once the command is applied: a refused command's is reused.
func (b *batch) newPostings(n int) []Posting {
	if n == 0 {
		return nil
	}
	if cap(b.postings) < n {
		b.postings = make([]Posting, 0, max(n, min(b.left, 1024)*(2+maxFeePostings)))
	}
	return b.postings[:0:n]
}

// takePostings takes the room of n postings that newPostings(n) returned.
func (b *batch) takePostings(n int) { b.postings = b.postings[n:n] }

// apply validates one command completely, then applies it and sets res; a refused command
// changes nothing and only sets res.Err. st is what the batch knows of c.ID; apply sets st.tr when
// it records the command's transfer, and the caller stores st.
func (b *batch) apply(c *Command, res *Result, st *idState) {
	if err := validate(c); err != nil {
		res.Err = err
		return
	}
	var fp [fingerprintLen]byte
	b.buf = c.fingerprint(&fp, b.buf)
	var (
		prev Transfer
		ok   bool
		err  error
	)
	if st.tr >= 0 {
		prev, ok = b.transfers[st.tr], true
	} else {
		prev, ok, err = b.storedTransfer(c.ID)
	}
	if err != nil {
		res.Err = apperr.Internalf("read transfer %s: %w", c.ID, err)
		return
	}
	if ok {
		if prev.Fingerprint != string(fp[:]) {
			res.Err = ErrIdempotencyReused.With("id", c.ID)
			return
		}
		res.Transfer, res.Replayed = prev, true
		return
	}
	t := Transfer{ID: c.ID, Kind: c.Kind, From: c.From, To: c.To, Amount: c.Amount, Message: c.Message,
		PendingID: c.PendingID, CreatedAt: b.now}
	np := maxPostings(c.Kind)
	ps := b.newPostings(np)
	var (
		spend spendChange
		data  map[string]string
		sw    *stateWrites
		prop  *Proposal
	)
	if c.Gov != nil && executesProposal(c.Kind) { // the execution of a passed proposal
		if prop, sw, err = b.govExecute(c, &t); err != nil {
			res.Err = err
			return
		}
	}
	switch c.Kind {
	case KindOpen:
		err = b.open(c)
	case KindTransfer:
		if spend, err = b.checkSend(c); err == nil {
			ps = b.plain(c, &t, ps)
		}
	case KindPending:
		if spend, err = b.checkSend(c); err == nil {
			ps, err = b.pending(c, &t, ps)
		}
	case KindPost:
		ps, spend, err = b.post(c, &t, ps)
	case KindVoid, KindExpire:
		ps, spend, err = b.void(c, &t, ps)
	case KindMint:
		t.To = Treasury
		if err = b.checkMint(c); err == nil {
			ps = append(ps, Posting{Account: Treasury, Part: Liquid, Amount: c.Amount})
		}
	case KindBurn:
		t.To = Burn
		ps = append(ps, Posting{Account: c.From, Part: Liquid, Amount: c.Amount, Debit: true}, Posting{Account: Burn, Part: Liquid, Amount: c.Amount})
	case KindGrant:
		t.From = Treasury
		if err = b.checkReceive(c.To); err == nil {
			ps = append(ps, Posting{Account: Treasury, Part: Liquid, Amount: c.Amount, Debit: true}, Posting{Account: c.To, Part: Liquid, Amount: c.Amount})
		}
	case KindStatus:
		data, err = b.setStatus(c)
	case KindParams:
		data, err = b.setParams(c, prop)
	case KindGovPropose, KindGovVote, KindGovClose, KindGovPolicy:
		ps, data, sw, err = b.applyGovernance(c, &t, ps, sw, prop)
	default:
		if isDisputeKind(c.Kind) {
			ps, data, sw, spend, err = b.applyDispute(c, &t, ps)
		} else {
			ps, data, sw, err = b.applyStaking(c, &t, ps)
		}
	}
	if err != nil {
		res.Err = err
		return
	}
	if err := b.applyPostings(ps, c, t.Fee); err != nil {
		res.Err = err
		return
	}
	// Nothing can refuse the command any more: record what it sent or gave back, its mint and
	// its state.
	if sw != nil {
		data = b.commitState(sw, data)
	}
	b.applySpend(&spend)
	if c.Kind == KindMint {
		b.head.Minted, _ = b.head.Minted.Add(c.Amount) // checked by checkMint
	}
	b.takePostings(np)
	// A system account the transfer names but no posting moved (the payee of a pending
	// transfer) may never have been stored; it is written, so that it exists — with the
	// transfer in its history — from its first transfer on.
	for _, id := range [2]AccountID{t.From, t.To} {
		if i, ok := b.aidx[id]; ok && id.SystemIndex() >= 0 {
			b.dirty[i] = true
		}
	}
	b.head.Seq++
	t.Seq = b.head.Seq
	ev := Event{Seq: b.head.Seq, Time: b.now, Kind: c.Kind, TransferID: c.ID, Postings: ps, Data: data, PrevHash: b.head.Hash}
	if ev.PrevHash == "" {
		ev.PrevHash = GenesisHash
	}
	// One string holds the fingerprint and the event hash: one allocation for both.
	b.buf = ev.appendCanonical(b.buf[:0])
	sum := sha256.Sum256(b.buf)
	var text [fingerprintLen + 2*sha256.Size]byte
	copy(text[:], fp[:])
	hex.Encode(text[fingerprintLen:], sum[:])
	s := string(text[:])
	t.Fingerprint, ev.Hash = s[:fingerprintLen], s[fingerprintLen:]
	b.head.Hash = ev.Hash
	b.events = append(b.events, ev)
	// No transfer has the id c.ID (else this was a replay); a post or void updated the pending
	// transfer, which has another id.
	st.tr = int32(len(b.transfers))
	b.transfers = append(b.transfers, t)
	res.Transfer = t
}

func validate(c *Command) error {
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
	case KindParams:
		return validateParams(c)
	case KindStatus:
		if c.To == "" || c.To.IsSystem() {
			return ErrSystemAccount.With("field", "account")
		}
		if !c.Status.Valid() {
			return ErrInvalidStatus.With("field", "status")
		}
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
		if c.Gov != nil && c.Kind != KindMint && c.Kind != KindGrant {
			return ErrInvalidCommand.With("field", "gov")
		}
	default:
		if isStakingKind(c.Kind) {
			return validateStaking(c)
		}
		if isGovKind(c.Kind) {
			return validateGov(c)
		}
		if isDisputeKind(c.Kind) {
			return validateDispute(c, maxEvidenceTextBound)
		}
		return ErrInvalidCommand.With("field", "kind").With("kind", string(c.Kind))
	}
	if c.Amount.IsZero() {
		return ErrZeroAmount.With("field", "amount")
	}
	if c.Kind == KindTransfer || c.Kind == KindPending {
		if c.From == c.To {
			return ErrSelfTransfer.With("field", "to")
		}
		// System accounts move value only through the ledger's own operations (fees, grants,
		// mints, burns, escrows): nobody pays them or holds funds for them directly.
		if c.To.IsSystem() {
			return ErrSystemAccount.With("field", "to")
		}
		if c.From.IsSystem() {
			return ErrSystemAccount.With("field", "from")
		}
	}
	if c.Kind == KindPending && c.Timeout != 0 && (c.Timeout < MinPendingTimeout || c.Timeout > MaxPendingTimeout) {
		return ErrBadTimeout.With("field", "timeout")
	}
	return nil
}

func (b *batch) open(c *Command) error {
	if c.To == "" || c.To.IsSystem() {
		return ErrSystemAccount.With("field", "to")
	}
	if _, err := b.r.Account(b.ctx, c.To); err == nil {
		return ErrAccountExists.With("account", string(c.To))
	} else if apperr.KindOf(err) != apperr.NotFound {
		return err
	}
	if _, ok := b.aidx[c.To]; ok {
		return ErrAccountExists.With("account", string(c.To))
	}
	b.addAccount(&Account{ID: c.To, CreatedAt: b.now}, true)
	return nil
}

// appendFee appends the postings that charge fee f to from's part p and split it among the system
// accounts (the split is recorded by these postings only: each share is a credit to its account).
func (b *batch) appendFee(ps []Posting, from AccountID, p Part, f avt.Amount) []Posting {
	if f.IsZero() {
		return ps
	}
	sp := b.params.Fee.Split(f)
	ps = append(ps, Posting{Account: from, Part: p, Amount: f, Debit: true})
	if !sp.Treasury.IsZero() {
		ps = append(ps, Posting{Account: Treasury, Part: Liquid, Amount: sp.Treasury})
	}
	if !sp.Validators.IsZero() {
		ps = append(ps, Posting{Account: ValidatorPool, Part: Liquid, Amount: sp.Validators})
	}
	if !sp.Stakers.IsZero() {
		ps = append(ps, Posting{Account: StakingPool, Part: Liquid, Amount: sp.Stakers})
	}
	if !sp.Burn.IsZero() {
		ps = append(ps, Posting{Account: Burn, Part: Liquid, Amount: sp.Burn})
	}
	return ps
}

func (b *batch) plain(c *Command, t *Transfer, ps []Posting) []Posting {
	f := b.params.Fee.Compute(c.Amount)
	t.Fee = f
	ps = append(ps, Posting{Account: c.From, Part: Liquid, Amount: c.Amount, Debit: true}, Posting{Account: c.To, Part: Liquid, Amount: c.Amount})
	return b.appendFee(ps, c.From, Liquid, f)
}

func (b *batch) pending(c *Command, t *Transfer, ps []Posting) ([]Posting, error) {
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
	return append(ps, Posting{Account: c.From, Part: Liquid, Amount: held, Debit: true}, Posting{Account: c.From, Part: Locked, Amount: held}), nil
}

func (b *batch) activePending(c *Command) (Transfer, error) {
	p, ok, err := b.transfer(c.PendingID)
	if err != nil {
		return Transfer{}, apperr.Internalf("read pending %s: %w", c.PendingID, err)
	}
	if !ok || p.Kind != KindPending {
		return Transfer{}, ErrPendingNotFound.With("pending_id", c.PendingID)
	}
	if p.State != PendingActive {
		if p.State == PendingFrozen {
			return Transfer{}, ErrPendingFrozen.With("pending_id", c.PendingID)
		}
		return Transfer{}, ErrPendingNotActive.With("pending_id", c.PendingID).With("state", string(p.State))
	}
	if c.Kind != KindExpire && p.ExpiresAt != nil && !b.now.Before(*p.ExpiresAt) {
		return Transfer{}, ErrPendingExpired.With("pending_id", c.PendingID)
	}
	if c.Kind == KindExpire && p.ExpiresAt != nil && b.now.Before(*p.ExpiresAt) {
		return Transfer{}, ErrPendingNotActive.With("pending_id", c.PendingID).With("reason", "not yet expired")
	}
	return p, nil
}

func (b *batch) post(c *Command, t *Transfer, ps []Posting) ([]Posting, spendChange, error) {
	p, err := b.activePending(c)
	if err != nil {
		return nil, spendChange{}, err
	}
	if err := b.checkPayer(p.From); err != nil {
		return nil, spendChange{}, err
	}
	if err := b.checkReceive(p.To); err != nil {
		return nil, spendChange{}, err
	}
	amount := p.Amount
	if c.Partial {
		if c.Amount.Cmp(p.Amount) > 0 {
			return nil, spendChange{}, ErrPostTooLarge.With("field", "amount").With("pending_amount", p.Amount.String())
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
		return nil, spendChange{}, apperr.Internalf("pending %s holds %s, post needs %s", p.ID, p.Held, spent)
	}
	t.From, t.To, t.Amount, t.Fee = p.From, p.To, amount, f
	ps = append(ps, Posting{Account: p.From, Part: Locked, Amount: amount, Debit: true}, Posting{Account: p.To, Part: Liquid, Amount: amount})
	ps = b.appendFee(ps, p.From, Locked, f)
	if !refund.IsZero() {
		ps = append(ps, Posting{Account: p.From, Part: Locked, Amount: refund, Debit: true}, Posting{Account: p.From, Part: Liquid, Amount: refund})
	}
	p.State = PendingPosted
	b.putTransfer(&p)
	// What the hold counted against the daily limit and was not posted is given back.
	unposted, _ := p.Amount.Sub(amount)
	return ps, spendChange{account: p.From, amount: unposted, refundOf: p.CreatedAt}, nil
}

func (b *batch) void(c *Command, t *Transfer, ps []Posting) ([]Posting, spendChange, error) {
	p, err := b.activePending(c)
	if err != nil {
		return nil, spendChange{}, err
	}
	t.From, t.To, t.Amount = p.From, p.From, p.Held
	ps = append(ps, Posting{Account: p.From, Part: Locked, Amount: p.Held, Debit: true}, Posting{Account: p.From, Part: Liquid, Amount: p.Held})
	p.State = PendingVoided
	if c.Kind == KindExpire {
		p.State = PendingExpired
	}
	b.putTransfer(&p)
	return ps, spendChange{account: p.From, amount: p.Amount, refundOf: p.CreatedAt}, nil
}

// spendChange is what a command adds to, or gives back from, an account's daily window.
type spendChange struct {
	account AccountID // "": none
	amount  avt.Amount
	// refundOf is when the amount given back was counted (a hold's creation); zero: the amount
	// is added, sent now.
	refundOf time.Time
}

// applySpend records sc in its account's window (the account is in the batch: the command's
// postings named it).
func (b *batch) applySpend(sc *spendChange) {
	if sc.account == "" || sc.amount.IsZero() {
		return
	}
	i, ok := b.aidx[sc.account]
	if !ok {
		return
	}
	a := &b.accounts[i]
	if sc.refundOf.IsZero() {
		a.Spent = a.Spent.Add(b.now, sc.amount)
	} else {
		a.Spent = a.Spent.Refund(sc.refundOf, b.now, sc.amount)
	}
	b.dirty[i] = true
}

// checkSend checks that c (a transfer or a hold) may move value out of c.From: the account is
// active, the payee can receive, and, with c.Limits, the amount is within the per-transfer limit
// and what From sent in the last 24 hours plus the amount within the daily limit. It returns
// the amount to add to From's window once c is applied.
func (b *batch) checkSend(c *Command) (spendChange, error) {
	if err := b.checkPayer(c.From); err != nil {
		return spendChange{}, err
	}
	if err := b.checkReceive(c.To); err != nil {
		return spendChange{}, err
	}
	if l := c.Limits; l != nil {
		if l.Resolve {
			l = b.params.LimitsFor(l.Tier, l.Reputation)
		}
		if c.Amount.Cmp(l.PerTransfer) > 0 {
			return spendChange{}, ErrTransferLimit.With("field", "amount").With("tier", l.Tier).
				With("limit", l.PerTransfer.String()).With("requested", c.Amount.String())
		}
		used := b.accounts[b.aidx[c.From]].Spent.Used(b.now)
		if total, ok := used.Add(c.Amount); !ok || total.Cmp(l.Daily) > 0 {
			return spendChange{}, ErrDailyLimit.With("field", "amount").With("tier", l.Tier).With("limit", l.Daily.String()).
				With("used", used.String()).With("requested", c.Amount.String())
		}
	}
	return spendChange{account: c.From, amount: c.Amount}, nil
}

// checkPayer checks that value may leave the account id (it exists and is active).
func (b *batch) checkPayer(id AccountID) error {
	i, err := b.account(id)
	if err != nil {
		return accountErr(id, err)
	}
	switch a := &b.accounts[i]; {
	case a.Status == AccountRevoked:
		return ErrAccountRevoked.With("account", string(id))
	case !a.Active():
		return ErrAccountSuspended.With("account", string(id))
	}
	return nil
}

// checkReceive checks that the account id exists and may receive value (it is not revoked).
func (b *batch) checkReceive(id AccountID) error {
	i, err := b.account(id)
	if err != nil {
		return accountErr(id, err)
	}
	if b.accounts[i].Status == AccountRevoked {
		return ErrAccountRevoked.With("account", string(id))
	}
	return nil
}

func accountErr(id AccountID, err error) error {
	if apperr.KindOf(err) == apperr.NotFound {
		return ErrAccountNotFound.With("account", string(id))
	}
	return apperr.Internalf("read account %s: %w", id, err)
}

// checkMint checks that the mint keeps all AVT ever minted within the maximum supply.
func (b *batch) checkMint(c *Command) error {
	limit := b.params.EffectiveMaxSupply()
	if total, ok := b.head.Minted.Add(c.Amount); !ok || total.Cmp(limit) > 0 {
		return ErrSupplyLimit.With("field", "amount").With("max_supply", limit.String()).
			With("minted", b.head.Minted.String()).With("requested", c.Amount.String())
	}
	return nil
}

// setStatus gives the account c.To the status c.Status, and returns the event's data. A revoked
// account stays revoked.
func (b *batch) setStatus(c *Command) (map[string]string, error) {
	i, err := b.account(c.To)
	if err != nil {
		return nil, accountErr(c.To, err)
	}
	a := &b.accounts[i]
	if a.Status == AccountRevoked && c.Status != AccountRevoked {
		return nil, ErrAccountRevoked.With("account", string(c.To))
	}
	a.Status = c.Status
	a.Version++
	b.dirty[i] = true
	return map[string]string{"account": string(c.To), "status": string(c.Status)}, nil
}

// balanceChange is the pending new value of one sub-balance while a command's postings are checked.
type balanceChange struct {
	id      AccountID
	account int32 // index in batch.accounts
	part    Part
	value   avt.Amount
}

// applyPostings checks that every posting can be applied (accounts exist, no balance goes negative or
// overflows), then applies them all. Debits are checked against the balance after the earlier
// postings of the same command. fee is the command's fee, for the details of a refusal.
func (b *batch) applyPostings(ps []Posting, c *Command, fee avt.Amount) error {
	var inline [2 + maxFeePostings + 2]balanceChange
	next := inline[:0]
	for i := range ps {
		p := &ps[i]
		ai, k := int32(-1), -1
		for j := range next { // an account an earlier posting of the command named
			if next[j].id == p.Account {
				ai = next[j].account
				if next[j].part == p.Part {
					k = j
					break
				}
			}
		}
		if ai < 0 {
			var err error
			if ai, err = b.account(p.Account); err != nil {
				if apperr.KindOf(err) == apperr.NotFound {
					return ErrAccountNotFound.With("account", string(p.Account))
				}
				return apperr.Internalf("read account %s: %w", p.Account, err)
			}
		}
		var cur avt.Amount
		if k >= 0 {
			cur = next[k].value
		} else {
			cur = *b.accounts[ai].part(p.Part)
		}
		var nv avt.Amount
		var ok bool
		if p.Debit {
			if nv, ok = cur.Sub(p.Amount); !ok {
				required := p.Amount
				if c.Kind == KindTransfer {
					required, _ = c.Amount.Add(fee)
				}
				return ErrInsufficient.With("account", string(p.Account)).With("required", required.String()).
					With("available", b.accounts[ai].part(p.Part).String())
			}
		} else if nv, ok = cur.Add(p.Amount); !ok {
			return ErrOverflow.With("account", string(p.Account))
		}
		if k >= 0 {
			next[k].value = nv
		} else {
			next = append(next, balanceChange{p.Account, ai, p.Part, nv})
		}
	}
	for _, n := range next {
		a := &b.accounts[n.account]
		*a.part(n.part) = n.value
		a.Version++
		b.dirty[n.account] = true
	}
	return nil
}

// String describes a command briefly, for logs.
func (c Command) String() string {
	return fmt.Sprintf("%s %s %s→%s %s", c.Kind, c.ID, c.From, c.To, c.Amount)
}
