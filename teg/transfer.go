package teg

import (
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
)

// Kind is the kind of a ledger command and of the transfer it records.
type Kind string

// The command kinds.
const (
	// KindTransfer moves Amount from From to To; From also pays the fee.
	KindTransfer Kind = "transfer"
	// KindPending locks Amount plus its fee in From's locked balance until posted, voided or expired.
	KindPending Kind = "pending"
	// KindPost completes a pending transfer, fully or for a smaller Amount; the rest is unlocked.
	KindPost Kind = "post"
	// KindVoid cancels a pending transfer and unlocks its funds.
	KindVoid Kind = "void"
	// KindExpire is the ledger voiding a pending transfer whose timeout passed.
	KindExpire Kind = "expire"
	// KindMint creates Amount in the treasury.
	KindMint Kind = "mint"
	// KindBurn destroys Amount from From (to the burn sink).
	KindBurn Kind = "burn"
	// KindGrant moves Amount from the treasury to To, without fee.
	KindGrant Kind = "grant"
	// KindOpen opens an account with zero balances.
	KindOpen Kind = "open"
	// KindStatus sets the status of the account To to Status (see AccountStatus).
	KindStatus Kind = "status"
	// KindParams replaces the parameter set in force with Params, the next version (see Params).
	KindParams Kind = "params"
)

// Command is one request to the ledger. ID is chosen by the client and makes the command
// idempotent: the same ID with the same content returns the first result; with other content it
// is refused with IDEMPOTENCY_KEY_REUSED.
type Command struct {
	Kind    Kind       `json:"kind"`
	ID      string     `json:"id"`
	From    AccountID  `json:"from,omitempty"`
	To      AccountID  `json:"to,omitempty"`
	Amount  avt.Amount `json:"amount"`
	Message string     `json:"message,omitempty"`
	// PendingID names the pending transfer a post or void acts on.
	PendingID string `json:"pending_id,omitempty"`
	// Timeout of a pending transfer (0: DefaultPendingTimeout).
	Timeout time.Duration `json:"timeout,omitempty"`
	// Partial marks a post of less than the pending amount (Amount is then what is posted); a
	// post without it posts the full pending amount.
	Partial bool `json:"partial,omitempty"`
	// Status is the status a KindStatus command gives the account To.
	Status AccountStatus `json:"status,omitempty"`
	// Params is the new parameter set of a KindParams command; its Version must be the next one.
	Params *Params `json:"params,omitempty"`
	// Staking holds the arguments of a staking command (see KindStake and the kinds after it).
	Staking *StakingArgs `json:"staking,omitempty"`
	// Gov holds the arguments of a governance command (KindGovPropose and the kinds after it),
	// or names the passed proposal a KindParams, KindMint or KindGrant command executes.
	Gov *GovArgs `json:"gov,omitempty"`
	// Dispute holds the arguments of a dispute command (see KindDisputeFile and the kinds after it).
	Dispute *DisputeArgs `json:"dispute,omitempty"`
	// Limits, when set, are the sender's transfer limits: a transfer or pending transfer larger
	// than Limits.PerTransfer, or that would take what From sent in the last 24 hours past
	// Limits.Daily, is refused. The service sets them from the caller's tier; commands of the
	// ledger's own operations carry none. Not part of the command's content (a replay of an
	// applied command is answered whatever limits it carries).
	Limits *Limits `json:"-"`
	// Fresh says the caller has just generated ID (unique by construction, as ids.New makes
	// them), so the store need not look for an earlier command with it. It is not part of the
	// command's content; a fresh id that did exist would be refused by the store's unique index.
	Fresh bool `json:"-"`
}

// PendingState is the state of a two-phase transfer.
type PendingState string

// The states of a pending transfer. Only Active may change, once.
const (
	PendingActive  PendingState = "active"
	PendingPosted  PendingState = "posted"
	PendingVoided  PendingState = "voided"
	PendingExpired PendingState = "expired"
	// PendingFrozen is a pending transfer a dispute froze: it is neither posted, voided nor
	// expired until the dispute ends (then it goes to the winner, or back to active).
	PendingFrozen PendingState = "frozen"
)

// Transfer is the immutable record of an applied command (pending transfers also carry their
// state, which changes once: active → posted, voided or expired).
type Transfer struct {
	ID        string     `json:"id"`
	Kind      Kind       `json:"kind"`
	From      AccountID  `json:"from,omitempty"`
	To        AccountID  `json:"to,omitempty"`
	Amount    avt.Amount `json:"amount"`
	Fee       avt.Amount `json:"fee"`
	Message   string     `json:"message,omitempty"`
	PendingID string     `json:"pending_id,omitempty"`
	// For pending transfers: the funds held (amount + fee), state and expiry.
	Held      avt.Amount   `json:"held,omitzero"`
	State     PendingState `json:"state,omitempty"`
	ExpiresAt *time.Time   `json:"expires_at,omitempty"`
	// Fingerprint of the command that made it.
	Fingerprint string    `json:"-"`
	Seq         uint64    `json:"seq"`
	CreatedAt   time.Time `json:"created_at"`
}

// The ledger's errors. Each is an *apperr.Error with a stable code; details name the field.
var (
	ErrInvalidCommand    = apperr.New(apperr.Invalid, "INVALID_COMMAND", "unknown command kind")
	ErrInvalidID         = apperr.New(apperr.Invalid, "INVALID_TRANSFER_ID", "id must be 1 to 128 printable ASCII characters")
	ErrZeroAmount        = apperr.New(apperr.Invalid, "INVALID_AMOUNT", "amount must be greater than zero")
	ErrMessageTooLong    = apperr.New(apperr.Invalid, "MESSAGE_TOO_LONG", "message must be at most 256 bytes")
	ErrSelfTransfer      = apperr.New(apperr.Invalid, "SELF_TRANSFER", "from and to must differ")
	ErrAccountNotFound   = apperr.New(apperr.NotFound, "ACCOUNT_NOT_FOUND", "no such account")
	ErrAccountExists     = apperr.New(apperr.Conflict, "ACCOUNT_EXISTS", "the account exists already")
	ErrSystemAccount     = apperr.New(apperr.Invalid, "SYSTEM_ACCOUNT", "system accounts cannot be used here")
	ErrInsufficient      = apperr.New(apperr.Invalid, "INSUFFICIENT_BALANCE", "the balance does not cover the amount and fee")
	ErrOverflow          = apperr.New(apperr.Invalid, "AMOUNT_OUT_OF_RANGE", "the balance would exceed the amount range")
	ErrIdempotencyReused = apperr.New(apperr.Conflict, "IDEMPOTENCY_KEY_REUSED", "this id was used for a different request")
	ErrPendingNotFound   = apperr.New(apperr.NotFound, "PENDING_NOT_FOUND", "no such pending transfer")
	ErrPendingNotActive  = apperr.New(apperr.Conflict, "PENDING_NOT_ACTIVE", "the pending transfer was already posted, voided or expired")
	ErrPendingExpired    = apperr.New(apperr.Conflict, "PENDING_EXPIRED", "the pending transfer has expired")
	ErrPostTooLarge      = apperr.New(apperr.Invalid, "POST_EXCEEDS_PENDING", "a post cannot exceed the pending amount")
	ErrBadTimeout        = apperr.New(apperr.Invalid, "INVALID_TIMEOUT", "timeout must be between 1 second and 30 days")
	ErrBatchTooLarge     = apperr.New(apperr.Invalid, "BATCH_TOO_LARGE", "a batch holds at most 8190 commands")
	ErrEmptyBatch        = apperr.New(apperr.Invalid, "EMPTY_BATCH", "a batch needs at least one command")
	ErrDuplicateInBatch  = apperr.New(apperr.Invalid, "DUPLICATE_ID_IN_BATCH", "two commands of the batch share an id")
	ErrTransferLimit     = apperr.New(apperr.Forbidden, "TRANSFER_LIMIT_EXCEEDED", "the amount is over the per-transfer limit of the sender's tier")
	ErrDailyLimit        = apperr.New(apperr.Forbidden, "DAILY_LIMIT_EXCEEDED", "the transfer would take what the sender sent in the last 24 hours past its tier's daily limit")
	ErrAccountSuspended  = apperr.New(apperr.Forbidden, "ACCOUNT_SUSPENDED", "the account is suspended: nothing may leave it")
	ErrAccountRevoked    = apperr.New(apperr.Forbidden, "ACCOUNT_REVOKED", "the account is revoked: it can neither send nor receive")
	ErrInvalidStatus     = apperr.New(apperr.Invalid, "INVALID_STATUS", "status must be active, suspended or revoked")
	ErrSupplyLimit       = apperr.New(apperr.Invalid, "SUPPLY_LIMIT_EXCEEDED", "the mint would take the AVT ever minted past the maximum supply")
)
