package teg

import (
	"context"
	"fmt"
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
	Account(ctx context.Context, id AccountID) (Account, error)
	History(ctx context.Context, account AccountID, before uint64, limit int) ([]Transfer, error)
	Transfer(ctx context.Context, id string) (Transfer, bool, error)
}

// Service is the token API's domain: it authorizes each call through the policy, turns it into
// ledger commands with idempotent ids, and submits them.
type Service struct {
	Store  Store
	Authz  policy.Decider
	Params Params
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
	cid, fresh, err := commandID(caller, idemKey)
	if err != nil {
		return Account{}, err
	}
	if _, _, err := s.do(ctx, Command{Kind: KindOpen, ID: cid, Fresh: fresh, To: id}); err != nil {
		return Account{}, err
	}
	return s.Store.Account(ctx, id)
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
	if err := s.authorize(ctx, caller, action, policy.Resource{Kind: "treasury", ID: string(Treasury)}, &c.Amount); err != nil {
		return Transfer{}, false, err
	}
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
	return s.Store.Account(ctx, id)
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
func (s *Service) QuoteFee(amount avt.Amount) (FeeQuote, error) {
	if amount.IsZero() {
		return FeeQuote{}, ErrZeroAmount.With("field", "amount")
	}
	f := s.Params.Fee.Compute(amount)
	total, ok := amount.Add(f)
	if !ok {
		return FeeQuote{}, ErrOverflow.With("field", "amount")
	}
	return FeeQuote{Amount: amount, Fee: f, Total: total, Split: s.Params.Fee.Split(f)}, nil
}

// TransferRequest is one payment an agent asks for: Amount to To, with an optional message.
type TransferRequest struct {
	To      AccountID
	Amount  avt.Amount
	Message string
}

func (s *Service) authorizeTransfer(ctx context.Context, caller policy.Subject, amount avt.Amount) error {
	return s.authorize(ctx, caller, policy.ActionTokenTransfer, policy.Resource{Kind: "wallet", ID: caller.ID, Owner: caller.ID}, &amount)
}

// Transfer pays req.Amount from the calling agent's wallet to req.To; the agent also pays the fee.
// The policy checks the amount against the agent's tier limit.
func (s *Service) Transfer(ctx context.Context, caller policy.Subject, req TransferRequest, idemKey string) (Transfer, bool, error) {
	if err := s.authorizeTransfer(ctx, caller, req.Amount); err != nil {
		return Transfer{}, false, err
	}
	id, fresh, err := commandID(caller, idemKey)
	if err != nil {
		return Transfer{}, false, err
	}
	return s.do(ctx, Command{Kind: KindTransfer, ID: id, Fresh: fresh, From: AccountID(caller.ID), To: req.To, Amount: req.Amount, Message: req.Message})
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
	cmds := make([]Command, len(reqs))
	for i, r := range reqs {
		if err := s.authorizeTransfer(ctx, caller, r.Amount); err != nil {
			if ae, ok := apperr.As(err); ok {
				return nil, ae.With("index", i)
			}
			return nil, err
		}
		cmds[i] = Command{Kind: KindTransfer, ID: fmt.Sprintf("%s#%d", base, i), Fresh: fresh, From: AccountID(caller.ID), To: r.To, Amount: r.Amount, Message: r.Message}
	}
	return s.Store.Submit(ctx, cmds, linked)
}

// Pending holds req.Amount plus its fee in the calling agent's wallet until the agent posts
// (fully or in part) or voids it, or timeout passes (then it is voided automatically).
func (s *Service) Pending(ctx context.Context, caller policy.Subject, req TransferRequest, timeout time.Duration, idemKey string) (Transfer, bool, error) {
	if err := s.authorizeTransfer(ctx, caller, req.Amount); err != nil {
		return Transfer{}, false, err
	}
	id, fresh, err := commandID(caller, idemKey)
	if err != nil {
		return Transfer{}, false, err
	}
	return s.do(ctx, Command{Kind: KindPending, ID: id, Fresh: fresh, From: AccountID(caller.ID), To: req.To, Amount: req.Amount, Message: req.Message, Timeout: timeout})
}

// Settle posts (post true; amount nil posts the whole amount) or voids a pending transfer; only
// its payer (or an admin) may.
func (s *Service) Settle(ctx context.Context, caller policy.Subject, pendingID string, post bool, amount *avt.Amount, idemKey string) (Transfer, bool, error) {
	p, ok, err := s.Store.Transfer(ctx, pendingID)
	if err != nil {
		return Transfer{}, false, apperr.Internalf("read pending: %w", err)
	}
	if !ok || p.Kind != KindPending {
		return Transfer{}, false, ErrPendingNotFound.With("pending_id", pendingID)
	}
	if err := s.authorize(ctx, caller, policy.ActionTokenSettle, policy.Resource{Kind: "pending_transfer", ID: pendingID, Owner: string(p.From), Counterparty: string(p.To)}, amount); err != nil {
		return Transfer{}, false, err
	}
	id, fresh, err := commandID(caller, idemKey)
	if err != nil {
		return Transfer{}, false, err
	}
	c := Command{Kind: KindVoid, ID: id, Fresh: fresh, PendingID: pendingID}
	if post {
		c.Kind = KindPost
		if amount != nil {
			c.Amount, c.Partial = *amount, true
		}
	}
	return s.do(ctx, c)
}
