// Package teghttp serves the token economy over HTTP (/api/v1/token/…, /api/v1/teg/…,
// /api/v1/staking/…): it decodes requests, parses amounts strictly, calls teg.Service with the
// authenticated subject, and encodes the answers. Business rules and authorization live in package teg and the policy.
package teghttp

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/fee"
)

// Token serves the token routes.
type Token struct {
	Service *teg.Service
}

// AccountView is an account's balances as the API shows them (amounts are decimal strings).
type AccountView struct {
	Account   string    `json:"account"`
	Liquid    string    `json:"liquid" example:"100.5"`
	Locked    string    `json:"locked"`
	Staked    string    `json:"staked"`
	Unbonding string    `json:"unbonding"`
	Total     string    `json:"total"`
	Status    string    `json:"status" enum:"active,suspended,revoked" doc:"A suspended wallet sends nothing; a revoked one neither sends nor receives"`
	CreatedAt time.Time `json:"created_at"`
}

func accountView(a teg.Account) AccountView {
	return AccountView{Account: string(a.ID), Liquid: a.Liquid.String(), Locked: a.Locked.String(), Staked: a.Staked.String(),
		Unbonding: a.Unbonding.String(), Total: a.Total().String(), Status: string(a.StatusOrActive()), CreatedAt: a.CreatedAt}
}

// TransferView is a ledger transfer as the API shows it.
type TransferView struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	From      string     `json:"from,omitempty"`
	To        string     `json:"to,omitempty"`
	Amount    string     `json:"amount"`
	Fee       string     `json:"fee"`
	Message   string     `json:"message,omitempty"`
	PendingID string     `json:"pending_id,omitempty"`
	State     string     `json:"state,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Seq       uint64     `json:"seq" doc:"Position in the ledger's event log"`
	CreatedAt time.Time  `json:"created_at"`
	Replayed  bool       `json:"replayed,omitempty" doc:"This answer repeats the first result of the same Idempotency-Key"`
}

func transferView(t teg.Transfer, replayed bool) TransferView {
	return TransferView{ID: t.ID, Kind: string(t.Kind), From: string(t.From), To: string(t.To), Amount: t.Amount.String(), Fee: t.Fee.String(),
		Message: t.Message, PendingID: t.PendingID, State: string(t.State), ExpiresAt: t.ExpiresAt, Seq: t.Seq, CreatedAt: t.CreatedAt, Replayed: replayed}
}

// parseAmount parses a decimal AVT string, naming field in the error.
func parseAmount(s, field string) (avt.Amount, error) {
	a, err := avt.Parse(s)
	if err != nil {
		if ae, ok := apperr.As(err); ok {
			return a, ae.With("field", field)
		}
		return a, err
	}
	return a, nil
}

type openAccountInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		AgentID string `json:"agent_id" maxLength:"128" doc:"The agent whose wallet to open"`
	}
}

type accountStatusInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Account        string `path:"account" maxLength:"128" doc:"The agent whose wallet to suspend, revoke or reactivate"`
	Body           struct {
		Status string `json:"status" maxLength:"16" doc:"active, suspended or revoked (final)"`
	}
}

type pendingReadInput struct {
	Ref string `path:"ref" maxLength:"300" doc:"The pending transfer's id"`
}

type pendingOutput struct{ Body TransferView }

type accountOutput struct {
	ETag string `header:"ETag"`
	Body AccountView
}

type mintInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		Amount  string `json:"amount" maxLength:"64" doc:"AVT as a decimal string, at most 18 fractional digits" example:"100.5"`
		Message string `json:"message,omitempty" maxLength:"1024" doc:"At most 256 bytes"`
	}
}

type burnInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		Account string `json:"account" maxLength:"128"`
		Amount  string `json:"amount" maxLength:"64" doc:"AVT as a decimal string, at most 18 fractional digits" example:"100.5"`
		Message string `json:"message,omitempty" maxLength:"1024" doc:"At most 256 bytes"`
	}
}

type grantInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		To      string `json:"to" maxLength:"128"`
		Amount  string `json:"amount" maxLength:"64" doc:"AVT as a decimal string, at most 18 fractional digits" example:"100.5"`
		Message string `json:"message,omitempty" maxLength:"1024" doc:"At most 256 bytes"`
	}
}

type transferOutput struct {
	Status int
	Body   TransferView
}

type balanceInput struct {
	Account     string `query:"account" maxLength:"128" doc:"The wallet (default: the caller's own)"`
	IfNoneMatch string `header:"If-None-Match"`
}

type historyInput struct {
	Account string `query:"account" maxLength:"128" doc:"The wallet (default: the caller's own)"`
	httpapi.PageParams
}

// TransferPage is a page of an account's transfers, newest first.
type TransferPage struct {
	Items      []TransferView `json:"items"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

type historyOutput struct{ Body TransferPage }

type feeInput struct {
	Amount string `query:"amount" required:"true" maxLength:"64"`
}

type feeOutput struct {
	Body struct {
		Amount string            `json:"amount"`
		Fee    string            `json:"fee"`
		Total  string            `json:"total" doc:"What the sender pays: amount + fee"`
		Split  map[string]string `json:"split" doc:"treasury, validator_pool, staking_reward_pool, burn"`
	}
}

type paramsOutput struct{ Body ParamsView }

// ParamsView is one version of the ledger's parameter set. The editable fields (fees, max_supply,
// tiers, staking) are what a change sends back (PUT /api/v1/admin/teg/params).
type ParamsView struct {
	Version         int               `json:"version"`
	SetAt           *time.Time        `json:"set_at,omitempty" doc:"When the change that made this version was applied (none for version 1, the configured set)"`
	Seq             uint64            `json:"seq,omitempty" doc:"The sequence number of that change in the event log"`
	ChangeID        string            `json:"change_id,omitempty" doc:"The id of that change in the event log"`
	Message         string            `json:"message,omitempty" doc:"The reason the change gave"`
	FeeRateBps      uint64            `json:"fee_rate_bps"`
	FeeMin          string            `json:"fee_min"`
	FeeMax          string            `json:"fee_max"`
	FeeSplitBps     map[string]uint64 `json:"fee_split_bps"`
	MaxBatch        int               `json:"max_batch"`
	MaxMessageBytes int               `json:"max_message_bytes"`
	MaxSupply       string            `json:"max_supply" doc:"The most AVT that can ever be minted"`
	Tiers           []TierView        `json:"tiers" doc:"Reputation tiers, lowest first, and their transfer limits"`
	DailyWindow     int               `json:"daily_window_hours" doc:"Daily limits count what an agent sent over this many hours (hour buckets)"`
	Staking         StakingView       `json:"staking"`
	// Attestations are the attestation rewards and limits.
	Attestations AttestationsView `json:"attestations"`
	// Reputation is the reputation score's weights.
	Reputation teg.ReputationWeights `json:"reputation" doc:"The reputation score's weights: points of each factor, caps, penalties and their half-life"`
	Governance GovernanceView        `json:"governance"`
}

// GovernanceView is the governance part of the parameter set.
type GovernanceView struct {
	Deposit         string `json:"deposit" doc:"The least a proposal deposits, AVT"`
	VotingSeconds   int64  `json:"voting_seconds" doc:"How long a proposal is voted on"`
	TimelockSeconds int64  `json:"timelock_seconds" doc:"How long a passed proposal waits before it is executed"`
	QuorumBps       uint64 `json:"quorum_bps" doc:"The share of the bonded stake that must vote, basis points"`
	ThresholdBps    uint64 `json:"threshold_bps" doc:"The share of yes among the votes that do not abstain a proposal needs to pass, basis points"`
	VetoBps         uint64 `json:"veto_bps" doc:"The share of veto among the votes that vetoes a proposal and burns its deposit, basis points"`
}

// AttestationsView is the attestation part of the parameter set.
type AttestationsView struct {
	Reward          string `json:"reward" doc:"The treasury's reward for each accepted attestation, AVT"`
	CooldownSeconds int64  `json:"cooldown_seconds" doc:"How long after an attestation of (subject, type, attester) the next one is refused"`
	DailyLimit      int    `json:"daily_limit" doc:"How many attestations of one subject a rolling 24 hours accepts"`
}

// StakingView is the staking part of the parameter set.
type StakingView struct {
	MinStake               string `json:"min_stake" doc:"The smallest stake or delegation, AVT"`
	MinSelfStake           string `json:"min_self_stake" doc:"The self-stake a validator needs, AVT"`
	UnbondingSeconds       int64  `json:"unbonding_seconds" minimum:"1" doc:"How long unstaked AVT stays unbonding (and slashable)"`
	DefaultCommissionBps   uint64 `json:"default_commission_bps" maximum:"10000" doc:"A new validator's commission, basis points"`
	MaxCommissionChangeBps uint64 `json:"max_commission_change_bps" maximum:"10000" doc:"The most a commission may change in a day, basis points"`
	EpochSeconds           int64  `json:"epoch_seconds" minimum:"1" doc:"The length of a reward epoch"`
	EmissionAPRBps         uint64 `json:"emission_apr_bps" maximum:"10000" doc:"The yearly emission from the treasury as a fraction of total stake, basis points"`
}

type paramsHistoryOutput struct {
	Body struct {
		Items []ParamsView `json:"items" doc:"Every earlier version, newest first"`
	}
}

type setParamsInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		BaseVersion  int                    `json:"base_version" doc:"The version in force the change was made from; if another change came first the request is 409 PARAMS_VERSION_CONFLICT"`
		Message      string                 `json:"message,omitempty" maxLength:"1024" doc:"Why (at most 256 bytes); recorded in the event log"`
		FeeRateBps   uint64                 `json:"fee_rate_bps"`
		FeeMin       string                 `json:"fee_min" maxLength:"64"`
		FeeMax       string                 `json:"fee_max" maxLength:"64"`
		FeeSplitBps  map[string]uint64      `json:"fee_split_bps" doc:"treasury, validator_pool, staking_reward_pool, burn: adding up to 10000"`
		MaxSupply    string                 `json:"max_supply" maxLength:"64"`
		Tiers        []TierView             `json:"tiers" maxItems:"32"`
		Staking      StakingView            `json:"staking"`
		Reputation   *teg.ReputationWeights `json:"reputation,omitempty" doc:"The reputation score's weights (absent: the weights in force stay)"`
		Attestations *AttestationsView      `json:"attestations,omitempty" doc:"The attestation rewards and limits (absent: the numbers in force stay)"`
		Governance   *GovernanceView        `json:"governance,omitempty" doc:"The governance numbers (absent: the numbers in force stay)"`
		// The read-only fields of ParamsView, accepted (and ignored) so that a GET's body can be
		// edited and sent back.
		Version         int        `json:"version,omitempty"`
		SetAt           *time.Time `json:"set_at,omitempty"`
		Seq             uint64     `json:"seq,omitempty"`
		ChangeID        string     `json:"change_id,omitempty" maxLength:"200"`
		MaxBatch        int        `json:"max_batch,omitempty"`
		MaxMessageBytes int        `json:"max_message_bytes,omitempty"`
		DailyWindow     int        `json:"daily_window_hours,omitempty"`
	}
}

// TierView is a reputation tier and its transfer limits.
type TierView struct {
	Name          string `json:"name"`
	MinReputation int    `json:"min_reputation"`
	PerTransfer   string `json:"per_transfer" doc:"The largest single transfer or hold, AVT"`
	Daily         string `json:"daily" doc:"The most sent over the rolling daily window, AVT"`
}

func op(id, method, path, summary string, status int, tags ...string) huma.Operation {
	return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: tags, DefaultStatus: status, Security: httpapi.Authenticated}
}

type transferBody struct {
	To      string `json:"to" maxLength:"128" doc:"The receiving wallet (agent id)"`
	Amount  string `json:"amount" maxLength:"64" doc:"AVT as a decimal string" example:"12.5"`
	Message string `json:"message,omitempty" maxLength:"1024" doc:"At most 256 bytes"`
}

func (b transferBody) request(field string) (teg.TransferRequest, error) {
	a, err := parseAmount(b.Amount, field)
	if err != nil {
		return teg.TransferRequest{}, err
	}
	return teg.TransferRequest{To: teg.AccountID(b.To), Amount: a, Message: b.Message}, nil
}

type transferInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           transferBody
}

type batchInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		Transfers []transferBody `json:"transfers" minItems:"1" maxItems:"8190"`
		Linked    *bool          `json:"linked,omitempty" doc:"All or nothing (default true)"`
	}
}

// BatchResult is one transfer of a batch: the transfer, or its error.
type BatchResult struct {
	Transfer *TransferView `json:"transfer,omitempty"`
	Error    *BatchError   `json:"error,omitempty"`
}

// BatchError is why one transfer of an unlinked batch was refused.
type BatchError struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

type batchOutput struct {
	Body struct {
		Results []BatchResult `json:"results"`
	}
}

type pendingInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		To             string `json:"to" maxLength:"128"`
		Amount         string `json:"amount" maxLength:"64"`
		Message        string `json:"message,omitempty" maxLength:"1024"`
		TimeoutSeconds int    `json:"timeout_seconds,omitempty" minimum:"1" maximum:"2592000" doc:"Default 3600; the hold is voided automatically after it"`
	}
}

type settleInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Ref            string `path:"ref" maxLength:"200" doc:"{id}:post or {id}:void"`
	Body           *struct {
		Amount string `json:"amount,omitempty" maxLength:"64" doc:"Post only this much (partial post); the rest is released"`
	} `required:"false"`
}

// Register adds the token routes to api.
func (h *Token) Register(api huma.API) {
	httpapi.Register(api, op("teg-open-account", http.MethodPost, "/api/v1/admin/teg/accounts", "Open an agent's wallet (admin)", http.StatusCreated, "token"), h.openAccount)
	httpapi.Register(api, op("teg-account-status", http.MethodPost, "/api/v1/admin/teg/accounts/{account}/status", "Suspend, revoke or reactivate an agent's wallet (admin, or the registry)", http.StatusOK, "token"), h.setStatus)
	httpapi.Register(api, op("token-pending-read", http.MethodGet, "/api/v1/token/pending/{ref}", "A pending transfer by id, with its state (its payer, its payee, or an admin)", http.StatusOK, "token"), h.pendingRead)
	httpapi.Register(api, op("token-mint", http.MethodPost, "/api/v1/token/mint", "Mint AVT into the treasury (admin)", http.StatusCreated, "token"), h.mint)
	httpapi.Register(api, op("token-burn", http.MethodPost, "/api/v1/token/burn", "Burn AVT from an account (admin)", http.StatusCreated, "token"), h.burn)
	httpapi.Register(api, op("token-grant", http.MethodPost, "/api/v1/token/grant", "Grant AVT from the treasury (admin)", http.StatusCreated, "token"), h.grant)
	httpapi.Register(api, op("token-balance", http.MethodGet, "/api/v1/token/balance", "An account's balances (its owner or an admin)", http.StatusOK, "token"), h.balance)
	httpapi.Register(api, op("token-transactions", http.MethodGet, "/api/v1/token/transactions", "An account's transfers, newest first (its owner or an admin)", http.StatusOK, "token"), h.history)
	httpapi.Register(api, op("token-transfer", http.MethodPost, "/api/v1/token/transfer", "Pay another wallet from your own (agents)", http.StatusCreated, "token"), h.transfer)
	httpapi.Register(api, op("token-transfer-batch", http.MethodPost, "/api/v1/token/transfers:batch", "Up to 8,190 transfers at once, linked by default (agents)", http.StatusOK, "token"), h.batch)
	httpapi.Register(api, op("token-pending", http.MethodPost, "/api/v1/token/pending", "Hold a payment until posted or voided (two-phase; agents)", http.StatusCreated, "token"), h.pending)
	httpapi.Register(api, op("token-pending-settle", http.MethodPost, "/api/v1/token/pending/{ref}", "POST …/{id}:post (optionally a smaller amount) or …/{id}:void", http.StatusCreated, "token"), h.settle)
	fees := op("token-fee", http.MethodGet, "/api/v1/token/fees/calculate", "The fee of a transfer and its split", http.StatusOK, "token")
	fees.Security = nil
	httpapi.Register(api, fees, h.fee)
	params := op("teg-params", http.MethodGet, "/api/v1/teg/params", "The ledger's parameters", http.StatusOK, "token")
	params.Security = nil
	httpapi.Register(api, params, h.params)
	history := op("teg-params-history", http.MethodGet, "/api/v1/teg/params/history", "Every earlier version of the ledger's parameters, newest first", http.StatusOK, "token")
	history.Security = nil
	httpapi.Register(api, history, h.paramsHistory)
	httpapi.Register(api, op("teg-params-set", http.MethodPut, "/api/v1/admin/teg/params", "Replace the ledger's parameters by the next version (admin)", http.StatusOK, "token"), h.setParams)
	h.registerStaking(api)
	h.registerGovernance(api)
}

func (h *Token) openAccount(ctx context.Context, in *openAccountInput) (*accountOutput, error) {
	a, err := h.Service.OpenAccount(ctx, httpapi.Subject(ctx), teg.AccountID(in.Body.AgentID), in.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	return &accountOutput{Body: accountView(a)}, nil
}

func (h *Token) setStatus(ctx context.Context, in *accountStatusInput) (*accountOutput, error) {
	a, err := h.Service.SetAccountStatus(ctx, httpapi.Subject(ctx), teg.AccountID(in.Account), teg.AccountStatus(in.Body.Status), in.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	return &accountOutput{Body: accountView(a)}, nil
}

func (h *Token) pendingRead(ctx context.Context, in *pendingReadInput) (*pendingOutput, error) {
	t, err := h.Service.PendingTransfer(ctx, httpapi.Subject(ctx), in.Ref)
	if err != nil {
		return nil, err
	}
	return &pendingOutput{Body: transferView(t, false)}, nil
}

func transferResult(t teg.Transfer, replayed bool, err error) (*transferOutput, error) {
	if err != nil {
		return nil, err
	}
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
	}
	return &transferOutput{Status: status, Body: transferView(t, replayed)}, nil
}

func (h *Token) mint(ctx context.Context, in *mintInput) (*transferOutput, error) {
	a, err := parseAmount(in.Body.Amount, "amount")
	if err != nil {
		return nil, err
	}
	return transferResult(h.Service.Mint(ctx, httpapi.Subject(ctx), a, in.Body.Message, in.IdempotencyKey))
}

func (h *Token) burn(ctx context.Context, in *burnInput) (*transferOutput, error) {
	a, err := parseAmount(in.Body.Amount, "amount")
	if err != nil {
		return nil, err
	}
	return transferResult(h.Service.Burn(ctx, httpapi.Subject(ctx), teg.AccountID(in.Body.Account), a, in.Body.Message, in.IdempotencyKey))
}

func (h *Token) grant(ctx context.Context, in *grantInput) (*transferOutput, error) {
	a, err := parseAmount(in.Body.Amount, "amount")
	if err != nil {
		return nil, err
	}
	return transferResult(h.Service.Grant(ctx, httpapi.Subject(ctx), teg.AccountID(in.Body.To), a, in.Body.Message, in.IdempotencyKey))
}

// accountOf is the account a read names, or the caller's own.
func accountOf(caller policy.Subject, account string) teg.AccountID {
	if account == "" {
		return teg.AccountID(caller.ID)
	}
	return teg.AccountID(account)
}

func (h *Token) balance(ctx context.Context, in *balanceInput) (*accountOutput, error) {
	caller := httpapi.Subject(ctx)
	a, err := h.Service.Balance(ctx, caller, accountOf(caller, in.Account))
	if err != nil {
		return nil, err
	}
	v := accountView(a)
	etag, err := httpapi.CheckETag(in.IfNoneMatch, v)
	if err != nil {
		return nil, err
	}
	return &accountOutput{ETag: etag, Body: v}, nil
}

func (h *Token) history(ctx context.Context, in *historyInput) (*historyOutput, error) {
	caller := httpapi.Subject(ctx)
	var before uint64
	if err := httpapi.DecodeCursor(in.Cursor, &before); err != nil {
		return nil, err
	}
	items, err := h.Service.History(ctx, caller, accountOf(caller, in.Account), before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	return transferPage(items, in.Limit), nil
}

// transferPage is the page of limit transfers of items (which holds one more when there is a
// next page), newest first.
func transferPage(items []teg.Transfer, limit int) *historyOutput {
	page, next := httpapi.Paginate(items, limit, func(t teg.Transfer) any { return t.Seq })
	out := &historyOutput{Body: TransferPage{Items: make([]TransferView, 0, len(page)), NextCursor: next}}
	for _, t := range page {
		out.Body.Items = append(out.Body.Items, transferView(t, false))
	}
	return out
}

func (h *Token) fee(ctx context.Context, in *feeInput) (*feeOutput, error) {
	a, err := parseAmount(in.Amount, "amount")
	if err != nil {
		return nil, err
	}
	q, err := h.Service.QuoteFee(ctx, a)
	if err != nil {
		return nil, err
	}
	out := &feeOutput{}
	out.Body.Amount, out.Body.Fee, out.Body.Total = q.Amount.String(), q.Fee.String(), q.Total.String()
	out.Body.Split = map[string]string{"treasury": q.Split.Treasury.String(), "validator_pool": q.Split.Validators.String(),
		"staking_reward_pool": q.Split.Stakers.String(), "burn": q.Split.Burn.String()}
	return out, nil
}

func paramsView(v teg.ParamsVersion) ParamsView {
	p := &v.Params
	out := ParamsView{Version: p.Version, Seq: v.Seq, ChangeID: v.TransferID, Message: v.Message, FeeRateBps: p.Fee.RateBps,
		FeeMin: p.Fee.Min.String(), FeeMax: p.Fee.Max.String(),
		FeeSplitBps:     map[string]uint64{"treasury": p.Fee.TreasuryBps, "validator_pool": p.Fee.ValidatorsBps, "staking_reward_pool": p.Fee.StakersBps, "burn": p.Fee.BurnBps},
		MaxBatch:        teg.MaxBatch,
		MaxMessageBytes: teg.MaxMessageBytes, MaxSupply: p.EffectiveMaxSupply().String(), DailyWindow: teg.WindowHours}
	if !v.SetAt.IsZero() {
		t := v.SetAt
		out.SetAt = &t
	}
	for _, t := range p.EffectiveTiers() {
		out.Tiers = append(out.Tiers, TierView{Name: t.Name, MinReputation: t.MinReputation, PerTransfer: t.PerTransfer.String(), Daily: t.Daily.String()})
	}
	st := &p.Staking
	out.Staking = StakingView{MinStake: st.MinStake.String(), MinSelfStake: st.MinSelfStake.String(), UnbondingSeconds: st.UnbondingSeconds,
		DefaultCommissionBps: st.DefaultCommissionBps, MaxCommissionChangeBps: st.MaxCommissionChangeBps, EpochSeconds: st.EpochSeconds, EmissionAPRBps: st.EmissionAPRBps}
	out.Reputation = p.EffectiveReputation()
	at := p.EffectiveAttestations()
	out.Attestations = AttestationsView{Reward: at.Reward.String(), CooldownSeconds: at.CooldownSeconds, DailyLimit: at.DailyLimit}
	g := p.EffectiveGovernance()
	out.Governance = GovernanceView{Deposit: g.Deposit.String(), VotingSeconds: g.VotingSeconds, TimelockSeconds: g.TimelockSeconds, QuorumBps: g.QuorumBps,
		ThresholdBps: g.ThresholdBps, VetoBps: g.VetoBps}
	return out
}

func (h *Token) params(ctx context.Context, _ *struct{}) (*paramsOutput, error) {
	v, err := h.Service.Params(ctx)
	if err != nil {
		return nil, err
	}
	return &paramsOutput{Body: paramsView(v)}, nil
}

func (h *Token) paramsHistory(ctx context.Context, _ *struct{}) (*paramsHistoryOutput, error) {
	hist, err := h.Service.ParamsHistory(ctx)
	if err != nil {
		return nil, err
	}
	out := &paramsHistoryOutput{}
	out.Body.Items = make([]ParamsView, len(hist))
	for i, v := range hist {
		out.Body.Items[i] = paramsView(v)
	}
	return out, nil
}

// invalidParam is the error of a malformed field of a parameter change.
func invalidParam(field, problem string) error {
	return teg.ErrInvalidParams.With("field", field).With("problems", []string{problem})
}

func (h *Token) setParams(ctx context.Context, in *setParamsInput) (*paramsOutput, error) {
	b := &in.Body
	p := teg.Params{Fee: fee.Schedule{RateBps: b.FeeRateBps}}
	amounts := []struct {
		field, text string
		dst         *avt.Amount
	}{{"fee_min", b.FeeMin, &p.Fee.Min}, {"fee_max", b.FeeMax, &p.Fee.Max}, {"max_supply", b.MaxSupply, &p.MaxSupply},
		{"staking.min_stake", b.Staking.MinStake, &p.Staking.MinStake}, {"staking.min_self_stake", b.Staking.MinSelfStake, &p.Staking.MinSelfStake}}
	for _, a := range amounts {
		var err error
		if *a.dst, err = parseAmount(a.text, a.field); err != nil {
			return nil, err
		}
	}
	split := map[string]*uint64{"treasury": &p.Fee.TreasuryBps, "validator_pool": &p.Fee.ValidatorsBps, "staking_reward_pool": &p.Fee.StakersBps, "burn": &p.Fee.BurnBps}
	for k, v := range b.FeeSplitBps {
		dst, ok := split[k]
		if !ok {
			return nil, invalidParam("fee_split_bps", "unknown share "+strconv.Quote(k)+" (treasury, validator_pool, staking_reward_pool, burn)")
		}
		*dst = v
	}
	for i, t := range b.Tiers {
		tier := teg.Tier{Name: t.Name, MinReputation: t.MinReputation}
		var err error
		if tier.PerTransfer, err = parseAmount(t.PerTransfer, fmt.Sprintf("tiers[%d].per_transfer", i)); err != nil {
			return nil, err
		}
		if tier.Daily, err = parseAmount(t.Daily, fmt.Sprintf("tiers[%d].daily", i)); err != nil {
			return nil, err
		}
		p.Tiers = append(p.Tiers, tier)
	}
	s := &b.Staking
	p.Staking.UnbondingSeconds, p.Staking.EpochSeconds = s.UnbondingSeconds, s.EpochSeconds
	p.Staking.DefaultCommissionBps, p.Staking.MaxCommissionChangeBps, p.Staking.EmissionAPRBps = s.DefaultCommissionBps, s.MaxCommissionChangeBps, s.EmissionAPRBps
	// A group the body leaves out keeps the numbers of the version it was made from, not the
	// defaults: an edit of the fees must not undo a change of the reputation weights. (That
	// version is the one in force, or the change is refused as a version conflict anyway.)
	if b.Reputation == nil || b.Attestations == nil || b.Governance == nil {
		cur, err := h.Service.Params(ctx)
		if err != nil {
			return nil, err
		}
		p.Reputation, p.Attestations, p.Governance = cur.Params.Reputation, cur.Params.Attestations, cur.Params.Governance
	}
	if b.Reputation != nil {
		p.Reputation = *b.Reputation
	}
	if a := b.Attestations; a != nil {
		reward, err := parseAmount(a.Reward, "attestations.reward")
		if err != nil {
			return nil, err
		}
		p.Attestations = teg.AttestationParams{Reward: reward, CooldownSeconds: a.CooldownSeconds, DailyLimit: a.DailyLimit}
	}
	if g := b.Governance; g != nil {
		dep, err := parseAmount(g.Deposit, "governance.deposit")
		if err != nil {
			return nil, err
		}
		p.Governance = teg.GovernanceParams{Deposit: dep, VotingSeconds: g.VotingSeconds, TimelockSeconds: g.TimelockSeconds, QuorumBps: g.QuorumBps,
			ThresholdBps: g.ThresholdBps, VetoBps: g.VetoBps}
	}
	v, _, err := h.Service.SetParams(ctx, httpapi.Subject(ctx), b.BaseVersion, p, b.Message, in.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	return &paramsOutput{Body: paramsView(v)}, nil
}

func (h *Token) transfer(ctx context.Context, in *transferInput) (*transferOutput, error) {
	req, err := in.Body.request("amount")
	if err != nil {
		return nil, err
	}
	return transferResult(h.Service.Transfer(ctx, httpapi.Subject(ctx), req, in.IdempotencyKey))
}

func (h *Token) batch(ctx context.Context, in *batchInput) (*batchOutput, error) {
	reqs := make([]teg.TransferRequest, len(in.Body.Transfers))
	for i, b := range in.Body.Transfers {
		r, err := b.request("amount")
		if err != nil {
			if ae, ok := apperr.As(err); ok {
				return nil, ae.With("index", i)
			}
			return nil, err
		}
		reqs[i] = r
	}
	linked := in.Body.Linked == nil || *in.Body.Linked
	res, err := h.Service.TransferBatch(ctx, httpapi.Subject(ctx), reqs, linked, in.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	out := &batchOutput{}
	out.Body.Results = make([]BatchResult, len(res))
	for i, r := range res {
		if r.Err != nil {
			be := &BatchError{Code: apperr.CodeOf(r.Err), Message: "internal error"}
			if ae, ok := apperr.As(r.Err); ok {
				be.Message, be.Details = ae.Message, ae.Details
			}
			out.Body.Results[i].Error = be
			continue
		}
		v := transferView(r.Transfer, r.Replayed)
		out.Body.Results[i].Transfer = &v
	}
	return out, nil
}

func (h *Token) pending(ctx context.Context, in *pendingInput) (*transferOutput, error) {
	a, err := parseAmount(in.Body.Amount, "amount")
	if err != nil {
		return nil, err
	}
	req := teg.TransferRequest{To: teg.AccountID(in.Body.To), Amount: a, Message: in.Body.Message}
	return transferResult(h.Service.Pending(ctx, httpapi.Subject(ctx), req, time.Duration(in.Body.TimeoutSeconds)*time.Second, in.IdempotencyKey))
}

var errBadSettle = apperr.New(apperr.NotFound, "NOT_FOUND", "use POST /api/v1/token/pending/{id}:post or /api/v1/token/pending/{id}:void")

func (h *Token) settle(ctx context.Context, in *settleInput) (*transferOutput, error) {
	// The verb follows the last colon: ids of idempotent writes carry colons themselves
	// ("idem:<caller>:<key>").
	i := strings.LastIndexByte(in.Ref, ':')
	if i < 0 {
		return nil, errBadSettle
	}
	id, verb := in.Ref[:i], in.Ref[i+1:]
	if id == "" || (verb != "post" && verb != "void") {
		return nil, errBadSettle
	}
	var amount *avt.Amount
	if in.Body != nil && in.Body.Amount != "" {
		if verb == "void" {
			return nil, apperr.New(apperr.Invalid, "UNKNOWN_FIELD", "a void takes no amount").With("field", "amount")
		}
		a, err := parseAmount(in.Body.Amount, "amount")
		if err != nil {
			return nil, err
		}
		amount = &a
	}
	return transferResult(h.Service.Settle(ctx, httpapi.Subject(ctx), id, verb == "post", amount, in.IdempotencyKey))
}
