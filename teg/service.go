package teg

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/ids"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/teg/fee"
)

// Store is what the token service needs of the ledger's storage and writer (tegsql.Ledger).
type Store interface {
	Submit(ctx context.Context, cmds []Command, linked bool) ([]Result, error)
	// Params is the parameter set in force; ParamsHistory every version of it, oldest first.
	Params(ctx context.Context) (Params, error)
	ParamsHistory(ctx context.Context) ([]ParamsVersion, error)
	Account(ctx context.Context, id AccountID) (Account, error)
	History(ctx context.Context, account AccountID, before uint64, limit int) ([]Transfer, error)
	Transfer(ctx context.Context, id string) (Transfer, bool, error)
}

// Service is the token API's domain: it authorizes each call through the policy, turns it into
// ledger commands with idempotent ids, and submits them.
type Service struct {
	Store Store
	Authz policy.Decider
	// Scores, when set, gives an agent's current reputation score (ok false: none computed
	// yet). The ledger then limits the agent's transfers by the tier of that score, whatever
	// its credential says; without it (or without a score) the caller's subject decides.
	Scores func(ctx context.Context, agent string) (score int, ok bool)
	// Log, when set, receives the operator's domain events: a "large transfer" line (ids,
	// amount, fee) for every transfer or hold of at least LargeTransfer applied.
	Log           *slog.Logger
	LargeTransfer avt.Amount
	// DeveloperOf, when set, names the developer of an agent ("" for none): an arbitrator
	// candidate of the same developer as a party is left out of the draw.
	DeveloperOf func(ctx context.Context, agent string) (string, error)
}

// DefaultLargeTransfer is the amount from which a transfer is logged as large: the per-transfer
// limit of tier Trusted.
var DefaultLargeTransfer = avt.AVT(1000)

// noteLarge logs an applied (not replayed) transfer or hold of at least LargeTransfer.
func (s *Service) noteLarge(t Transfer, replayed bool, err error) (Transfer, bool, error) {
	if err == nil && !replayed && s.Log != nil && !s.LargeTransfer.IsZero() && t.Amount.Cmp(s.LargeTransfer) >= 0 {
		s.Log.Info("large transfer", "transfer_id", t.ID, "kind", string(t.Kind), "from", string(t.From), "to", string(t.To),
			"amount", t.Amount.String(), "fee", t.Fee.String(), "seq", t.Seq)
	}
	return t, replayed, err
}

// MaxIdempotencyKey bounds Idempotency-Key values.
const MaxIdempotencyKey = 100

var errIdemKey = apperr.New(apperr.Invalid, "INVALID_IDEMPOTENCY_KEY", "Idempotency-Key must be 1 to 100 printable ASCII characters")

// commandID derives the ledger id of a caller's command: from its Idempotency-Key (scoped to the
// caller, so two callers' keys never collide), or a fresh id without one (fresh: see
// Command.Fresh).
func commandID(caller policy.Subject, idemKey string) (id string, fresh bool, err error) {
	if idemKey == "" {
		return ids.New("tx"), true, nil
	}
	if len(idemKey) > MaxIdempotencyKey {
		return "", false, errIdemKey.With("field", "Idempotency-Key")
	}
	for i := 0; i < len(idemKey); i++ {
		if idemKey[i] < 0x21 || idemKey[i] > 0x7e {
			return "", false, errIdemKey.With("field", "Idempotency-Key")
		}
	}
	return "idem:" + caller.ID + ":" + idemKey, false, nil
}

func (s *Service) authorize(ctx context.Context, caller policy.Subject, action string, res policy.Resource, amount *avt.Amount) error {
	in := policy.Input{Subject: caller, Action: action, Resource: res, Context: policy.Context{Time: time.Now().UTC()}}
	if amount != nil {
		in.Context.Amount = amount.String()
	}
	return policy.Authorize(ctx, s.Authz, in)
}

// do submits one command and returns its transfer and whether it was a replay.
func (s *Service) do(ctx context.Context, c Command) (Transfer, bool, error) {
	res, err := s.Store.Submit(ctx, []Command{c}, false)
	if err != nil {
		return Transfer{}, false, err
	}
	return res[0].Transfer, res[0].Replayed, res[0].Err
}

// GenesisID is the id of the genesis mint: the first supply of the treasury.
const GenesisID = "genesis"

// Genesis mints amount to the treasury once, as the ledger's first supply: an operator action
// taken at start-up (no caller, no policy: like a migration). Later calls replay the first
// mint; a different amount is IDEMPOTENCY_KEY_REUSED.
func (s *Service) Genesis(ctx context.Context, amount avt.Amount) (Transfer, bool, error) {
	return s.do(ctx, Command{ID: GenesisID, Kind: KindMint, Amount: amount, Message: "genesis supply"})
}

// OpenAccount opens a wallet for an agent id (admins only, until onboarding opens wallets).
func (s *Service) OpenAccount(ctx context.Context, caller policy.Subject, id AccountID, idemKey string) (Account, error) {
	if err := s.authorize(ctx, caller, policy.ActionTegAccountCreate, policy.Resource{Kind: "wallet", ID: string(id)}, nil); err != nil {
		return Account{}, err
	}
	if err := ValidateAgentAccount(id); err != nil {
		return Account{}, err
	}
	if _, _, err := s.submit(ctx, caller, Command{Kind: KindOpen, To: id}, idemKey); err != nil {
		return Account{}, err
	}
	a, err := s.Store.Account(ctx, id)
	if err != nil {
		return Account{}, err
	}
	return s.withStaking(ctx, a)
}

// ValidateAgentAccount checks that id can name an agent's wallet.
func ValidateAgentAccount(id AccountID) error {
	if id == "" || len(id) > MaxIDLen || id.IsSystem() {
		return apperr.New(apperr.Invalid, "INVALID_ACCOUNT", "the account must be an agent id (1 to 128 characters, not sys:…)").With("field", "account")
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return apperr.New(apperr.Invalid, "INVALID_ACCOUNT", "the account must be printable ASCII").With("field", "account")
		}
	}
	return nil
}

// Mint creates amount in the treasury (admins).
func (s *Service) Mint(ctx context.Context, caller policy.Subject, amount avt.Amount, message, idemKey string) (Transfer, bool, error) {
	return s.treasuryOp(ctx, caller, policy.ActionTokenMint, Command{Kind: KindMint, Amount: amount, Message: message}, idemKey)
}

// Burn destroys amount from an account (admins).
func (s *Service) Burn(ctx context.Context, caller policy.Subject, from AccountID, amount avt.Amount, message, idemKey string) (Transfer, bool, error) {
	return s.treasuryOp(ctx, caller, policy.ActionTokenBurn, Command{Kind: KindBurn, From: from, Amount: amount, Message: message}, idemKey)
}

// Grant moves amount from the treasury to an account, without fee (admins).
func (s *Service) Grant(ctx context.Context, caller policy.Subject, to AccountID, amount avt.Amount, message, idemKey string) (Transfer, bool, error) {
	return s.treasuryOp(ctx, caller, policy.ActionTokenGrant, Command{Kind: KindGrant, To: to, Amount: amount, Message: message}, idemKey)
}

func (s *Service) treasuryOp(ctx context.Context, caller policy.Subject, action string, c Command, idemKey string) (Transfer, bool, error) {
	if c.Amount.IsZero() {
		return Transfer{}, false, ErrZeroAmount.With("field", "amount")
	}
	if err := s.authorize(ctx, caller, action, policy.Resource{Kind: "treasury", ID: string(Treasury)}, &c.Amount); err != nil {
		return Transfer{}, false, err
	}
	return s.submit(ctx, caller, c, idemKey)
}

// submit gives c the caller's command id (from idemKey, or a fresh one) and applies it: the
// last step of every authorized write.
func (s *Service) submit(ctx context.Context, caller policy.Subject, c Command, idemKey string) (Transfer, bool, error) {
	id, fresh, err := commandID(caller, idemKey)
	if err != nil {
		return Transfer{}, false, err
	}
	c.ID, c.Fresh = id, fresh
	return s.do(ctx, c)
}

// Balance returns an account's balances (its owner, or an admin).
func (s *Service) Balance(ctx context.Context, caller policy.Subject, id AccountID) (Account, error) {
	if err := s.authorize(ctx, caller, policy.ActionTokenBalanceRead, policy.Resource{Kind: "wallet", ID: string(id), Owner: string(id)}, nil); err != nil {
		return Account{}, err
	}
	a, err := s.Store.Account(ctx, id)
	if err != nil {
		return Account{}, err
	}
	return s.withStaking(ctx, a)
}

// History returns up to limit of an account's transfers older than the sequence before (0: the
// newest), newest first (its owner, or an admin).
func (s *Service) History(ctx context.Context, caller policy.Subject, id AccountID, before uint64, limit int) ([]Transfer, error) {
	if err := s.authorize(ctx, caller, policy.ActionTokenHistoryRead, policy.Resource{Kind: "wallet", ID: string(id), Owner: string(id)}, nil); err != nil {
		return nil, err
	}
	if _, err := s.Store.Account(ctx, id); err != nil {
		return nil, err
	}
	return s.Store.History(ctx, id, before, limit)
}

// FeeQuote is the fee of a transfer of Amount and how it splits.
type FeeQuote struct {
	Amount avt.Amount
	Fee    avt.Amount
	Total  avt.Amount
	Split  fee.Split
}

// QuoteFee computes the fee a transfer of amount would pay (public).
func (s *Service) QuoteFee(ctx context.Context, amount avt.Amount) (FeeQuote, error) {
	if amount.IsZero() {
		return FeeQuote{}, ErrZeroAmount.With("field", "amount")
	}
	p, err := s.Store.Params(ctx)
	if err != nil {
		return FeeQuote{}, err
	}
	f := p.Fee.Compute(amount)
	total, ok := amount.Add(f)
	if !ok {
		return FeeQuote{}, ErrOverflow.With("field", "amount")
	}
	return FeeQuote{Amount: amount, Fee: f, Total: total, Split: p.Fee.Split(f)}, nil
}

// TransferRequest is one payment an agent asks for: Amount to To, with an optional message.
type TransferRequest struct {
	To      AccountID
	Amount  avt.Amount
	Message string
}

// checkTransfer validates a payment request — before the policy sees it, so bad input gets its
// own error, not a denial — then authorizes it. The amount is checked against the caller's
// tier limits by the ledger, in the step that applies it (see Command.Limits).
func (s *Service) checkTransfer(ctx context.Context, caller policy.Subject, req TransferRequest) error {
	if err := validateTransfer(req); err != nil {
		return err
	}
	return s.authorizeTransfer(ctx, caller, req.Amount)
}

func (s *Service) authorizeTransfer(ctx context.Context, caller policy.Subject, amount avt.Amount) error {
	return s.authorize(ctx, caller, policy.ActionTokenTransfer, policy.Resource{Kind: "wallet", ID: caller.ID, Owner: caller.ID}, &amount)
}

// validateTransfer checks what a payment request must be, whoever sends it.
func validateTransfer(req TransferRequest) error {
	if req.Amount.IsZero() {
		return ErrZeroAmount.With("field", "amount")
	}
	if len(req.Message) > MaxMessageBytes {
		return ErrMessageTooLong.With("field", "message").With("max_bytes", MaxMessageBytes)
	}
	if req.To.IsSystem() {
		return ErrSystemAccount.With("field", "to")
	}
	if err := ValidateAgentAccount(req.To); err != nil {
		if ae, ok := apperr.As(err); ok {
			return ae.With("field", "to")
		}
		return err
	}
	return nil
}

// limits are the caller's transfer limits: those of its tier in the parameter set in force when
// the ledger applies the command. An agent's tier is that of its current score (Scores), so a
// tier change applies from its next transfer on.
func (s *Service) limits(ctx context.Context, caller policy.Subject) *Limits {
	if s.Scores != nil && caller.Kind == policy.KindAgent {
		if score, ok := s.Scores(ctx, caller.ID); ok {
			if score <= 0 {
				return SubjectLimits(TierUntrusted, 0)
			}
			return SubjectLimits("", score)
		}
	}
	return SubjectLimits(caller.Tier, caller.Reputation)
}

// Transfer pays req.Amount from the calling agent's wallet to req.To; the agent also pays the fee.
// The ledger checks the amount against the agent's tier limits: per transfer, and what it sent
// in the last 24 hours.
func (s *Service) Transfer(ctx context.Context, caller policy.Subject, req TransferRequest, idemKey string) (Transfer, bool, error) {
	if err := s.checkTransfer(ctx, caller, req); err != nil {
		return Transfer{}, false, err
	}
	return s.noteLarge(s.submit(ctx, caller, Command{Kind: KindTransfer, From: AccountID(caller.ID), To: req.To, Amount: req.Amount, Message: req.Message,
		Limits: s.limits(ctx, caller)}, idemKey))
}

// TransferBatch applies up to MaxBatch transfers from the calling agent at once; when linked, all
// or none. With an Idempotency-Key, transfer i gets the key's id suffixed with its index.
func (s *Service) TransferBatch(ctx context.Context, caller policy.Subject, reqs []TransferRequest, linked bool, idemKey string) ([]Result, error) {
	if len(reqs) == 0 {
		return nil, ErrEmptyBatch
	}
	if len(reqs) > MaxBatch {
		return nil, ErrBatchTooLarge.With("max", MaxBatch).With("count", len(reqs))
	}
	base, fresh, err := commandID(caller, idemKey)
	if err != nil {
		return nil, err
	}
	var total avt.Amount
	for i, r := range reqs {
		if err := validateTransfer(r); err != nil {
			if ae, ok := apperr.As(err); ok {
				return nil, ae.With("index", i)
			}
			return nil, err
		}
		total = saturatingAdd(total, r.Amount) // for the policy's context (decision logs)
	}
	// One decision for the batch: the policy decides who may transfer, the ledger checks each
	// amount against the caller's limits as it applies them.
	if err := s.authorizeTransfer(ctx, caller, total); err != nil {
		return nil, err
	}
	cmds := make([]Command, len(reqs))
	lim := s.limits(ctx, caller)
	for i, r := range reqs {
		cmds[i] = Command{Kind: KindTransfer, ID: fmt.Sprintf("%s#%d", base, i), Fresh: fresh, From: AccountID(caller.ID), To: r.To, Amount: r.Amount, Message: r.Message,
			Limits: lim}
	}
	return s.Store.Submit(ctx, cmds, linked)
}

// Pending holds req.Amount plus its fee in the calling agent's wallet until the agent posts
// (fully or in part) or voids it, or timeout passes (then it is voided automatically).
// The hold counts against the agent's daily limit when it is placed; what is voided, expires or
// is not posted is given back.
func (s *Service) Pending(ctx context.Context, caller policy.Subject, req TransferRequest, timeout time.Duration, idemKey string) (Transfer, bool, error) {
	if timeout != 0 && (timeout < MinPendingTimeout || timeout > MaxPendingTimeout) {
		return Transfer{}, false, ErrBadTimeout.With("field", "timeout_seconds")
	}
	if err := s.checkTransfer(ctx, caller, req); err != nil {
		return Transfer{}, false, err
	}
	return s.noteLarge(s.submit(ctx, caller, Command{Kind: KindPending, From: AccountID(caller.ID), To: req.To, Amount: req.Amount, Message: req.Message, Timeout: timeout,
		Limits: s.limits(ctx, caller)}, idemKey))
}

// PendingTransfer reads a pending transfer by id: its payer, its payee (who checks, before doing
// paid work, that the payment is held) or an admin. Any other id — unknown, or not a pending
// transfer — is PENDING_NOT_FOUND, and so is a pending transfer the caller may not see (its
// existence is not revealed).
func (s *Service) PendingTransfer(ctx context.Context, caller policy.Subject, id string) (Transfer, error) {
	p, err := s.readPending(ctx, id)
	if err != nil {
		return Transfer{}, err
	}
	res := policy.Resource{Kind: "pending_transfer", ID: id, Owner: string(p.From), Counterparty: string(p.To)}
	if err := s.authorize(ctx, caller, policy.ActionTokenPendingRead, res, nil); err != nil {
		if apperr.KindOf(err) == apperr.Forbidden {
			return Transfer{}, ErrPendingNotFound.With("pending_id", id)
		}
		return Transfer{}, err
	}
	return p, nil
}

// readPending reads the pending transfer id, or PENDING_NOT_FOUND.
func (s *Service) readPending(ctx context.Context, id string) (Transfer, error) {
	if id == "" {
		return Transfer{}, ErrPendingNotFound.With("pending_id", id)
	}
	p, ok, err := s.Store.Transfer(ctx, id)
	if err != nil {
		return Transfer{}, apperr.Internalf("read pending: %w", err)
	}
	if !ok || p.Kind != KindPending {
		return Transfer{}, ErrPendingNotFound.With("pending_id", id)
	}
	return p, nil
}

// SetAccountStatus suspends, revokes or reactivates an agent's wallet (admins, and the registry
// when it changes the agent's status). A suspended wallet sends nothing; a revoked one neither
// sends nor receives, and stays revoked. Setting the status it has is a no-op that still
// answers the account.
func (s *Service) SetAccountStatus(ctx context.Context, caller policy.Subject, id AccountID, status AccountStatus, idemKey string) (Account, error) {
	if err := ValidateAgentAccount(id); err != nil {
		return Account{}, err
	}
	if !status.Valid() {
		return Account{}, ErrInvalidStatus.With("field", "status")
	}
	if err := s.authorize(ctx, caller, policy.ActionTegAccountStatus, policy.Resource{Kind: "wallet", ID: string(id)}, nil); err != nil {
		return Account{}, err
	}
	a, err := s.Store.Account(ctx, id)
	if err != nil {
		return Account{}, err
	}
	if a.StatusOrActive() == status {
		return a, nil
	}
	if _, _, err := s.submit(ctx, caller, Command{Kind: KindStatus, To: id, Status: status}, idemKey); err != nil {
		return Account{}, err
	}
	return s.Store.Account(ctx, id)
}

// Settle posts (post true; amount nil posts the whole amount) or voids a pending transfer; only
// its payer (or an admin) may.
func (s *Service) Settle(ctx context.Context, caller policy.Subject, pendingID string, post bool, amount *avt.Amount, idemKey string) (Transfer, bool, error) {
	if amount != nil && amount.IsZero() {
		return Transfer{}, false, ErrZeroAmount.With("field", "amount")
	}
	p, err := s.readPending(ctx, pendingID)
	if err != nil {
		return Transfer{}, false, err
	}
	if err := s.authorize(ctx, caller, policy.ActionTokenSettle, policy.Resource{Kind: "pending_transfer", ID: pendingID, Owner: string(p.From), Counterparty: string(p.To)}, amount); err != nil {
		return Transfer{}, false, err
	}
	c := Command{Kind: KindVoid, PendingID: pendingID}
	if post {
		c.Kind = KindPost
		if amount != nil {
			c.Amount, c.Partial = *amount, true
		}
	}
	return s.submit(ctx, caller, c, idemKey)
}

// Params is the parameter set in force (public).
func (s *Service) Params(ctx context.Context) (ParamsVersion, error) {
	hist, err := s.Store.ParamsHistory(ctx)
	if err != nil {
		return ParamsVersion{}, err
	}
	return hist[len(hist)-1], nil
}

// ParamsHistory is every earlier version of the parameter set, newest first (public).
func (s *Service) ParamsHistory(ctx context.Context) ([]ParamsVersion, error) {
	hist, err := s.Store.ParamsHistory(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ParamsVersion, 0, len(hist)-1)
	for i := len(hist) - 2; i >= 0; i-- {
		out = append(out, hist[i])
	}
	return out, nil
}

// SetParams replaces the parameter set in force by next as version base+1 (admins, until
// governance makes the same change for a passed proposal). base is the version the change was
// made from: if another change came first, it is refused with PARAMS_VERSION_CONFLICT. The change
// is a KindParams event of the log; every command after it uses the new set.
func (s *Service) SetParams(ctx context.Context, caller policy.Subject, base int, next Params, message, idemKey string) (ParamsVersion, bool, error) {
	if base < 1 {
		return ParamsVersion{}, false, ErrInvalidParams.With("field", "base_version").With("problems", []string{"base_version must be the version in force (1 or more)"})
	}
	next.Version = base + 1
	if err := next.Validate(); err != nil {
		return ParamsVersion{}, false, err
	}
	if len(message) > MaxMessageBytes {
		return ParamsVersion{}, false, ErrMessageTooLong.With("field", "message").With("max_bytes", MaxMessageBytes)
	}
	if err := s.authorize(ctx, caller, policy.ActionTegParamsSet, policy.Resource{Kind: "params"}, nil); err != nil {
		return ParamsVersion{}, false, err
	}
	t, replayed, err := s.submit(ctx, caller, Command{Kind: KindParams, Params: &next, Message: message}, idemKey)
	if err != nil {
		return ParamsVersion{}, false, err
	}
	return ParamsVersion{Params: next, Seq: t.Seq, TransferID: t.ID, SetAt: t.CreatedAt, Message: t.Message}, replayed, nil
}
