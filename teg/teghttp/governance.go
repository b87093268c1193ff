package teghttp

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/teg"
)

// ProposalView is a governance proposal as the API shows it.
type ProposalView struct {
	ID           uint64                     `json:"id"`
	Kind         string                     `json:"kind" enum:"param_change,policy_module,treasury_spend,mint"`
	Title        string                     `json:"title"`
	Description  string                     `json:"description,omitempty"`
	Proposer     string                     `json:"proposer"`
	Deposit      string                     `json:"deposit" doc:"AVT held in escrow while it is voted on; returned unless vetoed (then burnt)"`
	Status       string                     `json:"status" enum:"voting,passed,rejected,vetoed,executed"`
	Changes      map[string]json.RawMessage `json:"changes,omitempty" doc:"param_change: dotted parameter keys and their new values"`
	Module       string                     `json:"module,omitempty" doc:"policy_module: the Rego file it adds or replaces"`
	Rego         string                     `json:"rego,omitempty"`
	Tests        string                     `json:"tests,omitempty"`
	To           string                     `json:"to,omitempty" doc:"treasury_spend: the wallet paid"`
	Amount       string                     `json:"amount,omitempty" doc:"treasury_spend, mint: AVT"`
	Reason       string                     `json:"reason,omitempty"`
	SubmittedAt  time.Time                  `json:"submitted_at"`
	VotingEndsAt time.Time                  `json:"voting_ends_at"`
	ClosedAt     *time.Time                 `json:"closed_at,omitempty"`
	ExecutableAt *time.Time                 `json:"executable_at,omitempty" doc:"A passed proposal: when its timelock ends"`
	ExecutedAt   *time.Time                 `json:"executed_at,omitempty"`
	Tally        *TallyView                 `json:"tally,omitempty" doc:"The final tally, once the voting ended"`
	Replayed     bool                       `json:"replayed,omitempty" doc:"This answer repeats the first result of the same Idempotency-Key"`
}

// TallyView is a count of votes weighted by bonded stake.
type TallyView struct {
	Yes     string `json:"yes"`
	No      string `json:"no"`
	Abstain string `json:"abstain"`
	Veto    string `json:"veto"`
	Voted   string `json:"voted" doc:"The stake that voted, AVT"`
	Bonded  string `json:"bonded" doc:"All bonded stake, AVT"`
	Quorum  bool   `json:"quorum" doc:"Whether the stake that voted reaches the quorum"`
	Outcome string `json:"outcome" enum:"passed,rejected,vetoed" doc:"What the count decides (while voting: if the voting ended now)"`
}

func tallyView(t teg.Tally) *TallyView {
	return &TallyView{Yes: t.Yes.String(), No: t.No.String(), Abstain: t.Abstain.String(), Veto: t.Veto.String(), Voted: t.Voted.String(),
		Bonded: t.Bonded.String(), Quorum: t.Quorum, Outcome: string(t.Outcome)}
}

func proposalView(p teg.Proposal, replayed bool) ProposalView {
	c := &p.Content
	v := ProposalView{ID: p.ID, Kind: string(c.Kind), Title: c.Title, Description: c.Description, Proposer: string(p.Proposer), Deposit: p.Deposit.String(),
		Status: string(p.Status), Changes: c.Changes, Module: c.Module, Rego: c.Rego, Tests: c.Tests, To: string(c.To), Reason: c.Reason,
		SubmittedAt: p.SubmittedAt, VotingEndsAt: p.VotingEndsAt, ClosedAt: p.ClosedAt, ExecutableAt: p.ExecutableAt, ExecutedAt: p.ExecutedAt, Replayed: replayed}
	if !c.Amount.IsZero() {
		v.Amount = c.Amount.String()
	}
	if p.Tally != nil {
		v.Tally = tallyView(*p.Tally)
	}
	return v
}

type proposeInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		Kind        string                     `json:"kind" enum:"param_change,policy_module,treasury_spend,mint"`
		Title       string                     `json:"title" maxLength:"1024"`
		Description string                     `json:"description,omitempty" maxLength:"16384"`
		Deposit     string                     `json:"deposit,omitempty" maxLength:"64" doc:"AVT moved to escrow (default and minimum: the governance.deposit parameter)"`
		Changes     map[string]json.RawMessage `json:"changes,omitempty" doc:"param_change: dotted keys of the parameter set (fee.rate_bps, fee.min, max_supply, tiers, staking.epoch_seconds, governance.quorum_bps …) and their new JSON values, e.g. {\"fee.rate_bps\": 5}"`
		Module      string                     `json:"module,omitempty" maxLength:"128" doc:"policy_module: the Rego file it adds, or replaces (authz.rego …)"`
		Rego        string                     `json:"rego,omitempty" maxLength:"65536" doc:"policy_module: the module's source"`
		Tests       string                     `json:"tests,omitempty" maxLength:"65536" doc:"policy_module: Rego unit tests (test_* rules) the module must pass"`
		To          string                     `json:"to,omitempty" maxLength:"128" doc:"treasury_spend: the wallet paid"`
		Amount      string                     `json:"amount,omitempty" maxLength:"64" doc:"treasury_spend, mint: AVT"`
		Reason      string                     `json:"reason,omitempty" maxLength:"1024" doc:"treasury_spend, mint: why (at most 256 bytes)"`
	}
}

type proposalOutput struct {
	Status int
	Body   ProposalView
}

type proposalInput struct {
	ID string `path:"id" maxLength:"32" doc:"The proposal's number"`
}

type proposalsInput struct {
	Status string `query:"status" enum:"voting,passed,rejected,vetoed,executed," doc:"Only proposals of this status"`
	httpapi.PageParams
}

type proposalsOutput struct {
	Body struct {
		Items      []ProposalView `json:"items" doc:"Newest first"`
		NextCursor string         `json:"next_cursor,omitempty"`
	}
}

type tallyOutput struct {
	Body struct {
		Proposal     uint64    `json:"proposal"`
		Status       string    `json:"status"`
		Final        bool      `json:"final" doc:"false while the proposal is voted on: the count of the votes and the bonded stake now"`
		VotingEndsAt time.Time `json:"voting_ends_at"`
		TallyView
	}
}

type voteInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	ID             string `path:"id" maxLength:"32" doc:"The proposal's number"`
	Body           struct {
		Option string `json:"option" maxLength:"16" doc:"yes, no, abstain or veto; a later vote replaces an earlier one until the voting ends"`
	}
}

type executeInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Ref            string `path:"id" maxLength:"48" doc:"{id}:execute"`
}

type policyModulesOutput struct {
	Body struct {
		Modules map[string]string `json:"modules" doc:"The Rego modules passed proposals added to (or replaced in) the policy, by file name"`
	}
}

var errBadProposalID = apperr.New(apperr.NotFound, "PROPOSAL_NOT_FOUND", "no such proposal").With("field", "id")

func proposalID(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 {
		return 0, errBadProposalID
	}
	return n, nil
}

// registerGovernance adds the governance routes (/api/v1/governance/…) to api.
func (h *Token) registerGovernance(api huma.API) {
	const tag = "governance"
	httpapi.Register(api, op("governance-propose", http.MethodPost, "/api/v1/governance/proposals", "Make a proposal, depositing AVT in escrow (agents of the Trusted tier with a bonded stake of 1,000 AVT)", http.StatusCreated, tag), h.propose)
	registerPublic(api, op("governance-proposals", http.MethodGet, "/api/v1/governance/proposals", "The proposals, newest first", http.StatusOK, tag), h.proposals)
	registerPublic(api, op("governance-proposal", http.MethodGet, "/api/v1/governance/proposals/{id}", "One proposal", http.StatusOK, tag), h.proposal)
	registerPublic(api, op("governance-tally", http.MethodGet, "/api/v1/governance/proposals/{id}/tally", "A proposal's tally: live while it is voted on, final after", http.StatusOK, tag), h.tally)
	httpapi.Register(api, op("governance-vote", http.MethodPost, "/api/v1/governance/proposals/{id}/votes", "Vote on a proposal with the calling agent's bonded stake (yes, no, abstain, veto)", http.StatusCreated, tag), h.vote)
	httpapi.Register(api, op("governance-execute", http.MethodPost, "/api/v1/governance/proposals/{id}", "POST …/{id}:execute executes a passed proposal whose timelock ended (the ledger does it too)", http.StatusCreated, tag), h.execute)
	registerPublic(api, op("governance-policy", http.MethodGet, "/api/v1/governance/policy", "The Rego modules passed proposals put in force", http.StatusOK, tag), h.policyModules)
}

// registerPublic registers a route that needs no credentials (whether the caller may is still
// the policy's decision: the public rules allow everyone unless an operator changes them).
func registerPublic[I, O any](api huma.API, o huma.Operation, handler func(context.Context, *I) (*O, error)) {
	o.Security = nil
	httpapi.Register(api, o, handler)
}

func (h *Token) propose(ctx context.Context, in *proposeInput) (*proposalOutput, error) {
	b := &in.Body
	req := teg.ProposeRequest{Content: teg.ProposalContent{Kind: teg.ProposalKind(b.Kind), Title: b.Title, Description: b.Description, Changes: b.Changes,
		Module: b.Module, Rego: b.Rego, Tests: b.Tests, To: teg.AccountID(b.To), Reason: b.Reason}}
	amounts := []struct {
		field, text string
		dst         *avt.Amount
	}{{"deposit", b.Deposit, &req.Deposit}, {"amount", b.Amount, &req.Content.Amount}}
	for _, a := range amounts {
		if a.text == "" {
			continue
		}
		var err error
		if *a.dst, err = parseAmount(a.text, a.field); err != nil {
			return nil, err
		}
	}
	if b.Deposit != "" && req.Deposit.IsZero() { // zero would mean "the minimum"
		return nil, teg.ErrDepositTooLow.With("field", "deposit")
	}
	p, replayed, err := h.Service.Propose(ctx, httpapi.Subject(ctx), req, in.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
	}
	return &proposalOutput{Status: status, Body: proposalView(p, replayed)}, nil
}

func (h *Token) proposals(ctx context.Context, in *proposalsInput) (*proposalsOutput, error) {
	var before uint64
	if err := httpapi.DecodeCursor(in.Cursor, &before); err != nil {
		return nil, err
	}
	items, err := h.Service.Proposals(ctx, httpapi.Subject(ctx), teg.ProposalStatus(in.Status), before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	page, next := httpapi.Paginate(items, in.Limit, func(p teg.Proposal) any { return p.ID })
	out := &proposalsOutput{}
	out.Body.Items, out.Body.NextCursor = make([]ProposalView, len(page)), next
	for i, p := range page {
		out.Body.Items[i] = proposalView(p, false)
	}
	return out, nil
}

func (h *Token) proposal(ctx context.Context, in *proposalInput) (*proposalOutput, error) {
	id, err := proposalID(in.ID)
	if err != nil {
		return nil, err
	}
	p, err := h.Service.Proposal(ctx, httpapi.Subject(ctx), id)
	if err != nil {
		return nil, err
	}
	return &proposalOutput{Status: http.StatusOK, Body: proposalView(p, false)}, nil
}

func (h *Token) tally(ctx context.Context, in *proposalInput) (*tallyOutput, error) {
	id, err := proposalID(in.ID)
	if err != nil {
		return nil, err
	}
	t, p, err := h.Service.Tally(ctx, httpapi.Subject(ctx), id)
	if err != nil {
		return nil, err
	}
	out := &tallyOutput{}
	out.Body.Proposal, out.Body.Status, out.Body.Final, out.Body.VotingEndsAt = p.ID, string(p.Status), p.Tally != nil, p.VotingEndsAt
	out.Body.TallyView = *tallyView(t)
	return out, nil
}

func (h *Token) vote(ctx context.Context, in *voteInput) (*transferOutput, error) {
	id, err := proposalID(in.ID)
	if err != nil {
		return nil, err
	}
	return transferResult(h.Service.Vote(ctx, httpapi.Subject(ctx), id, teg.VoteOption(in.Body.Option), in.IdempotencyKey))
}

var errBadProposalAction = apperr.New(apperr.NotFound, "NOT_FOUND", "use POST /api/v1/governance/proposals/{id}:execute")

func (h *Token) execute(ctx context.Context, in *executeInput) (*transferOutput, error) {
	ref, ok := strings.CutSuffix(in.Ref, ":execute")
	if !ok {
		return nil, errBadProposalAction
	}
	id, err := proposalID(ref)
	if err != nil {
		return nil, err
	}
	return transferResult(h.Service.Execute(ctx, httpapi.Subject(ctx), id, in.IdempotencyKey))
}

func (h *Token) policyModules(ctx context.Context, _ *struct{}) (*policyModulesOutput, error) {
	if err := h.Service.AuthorizeGovernanceRead(ctx, httpapi.Subject(ctx)); err != nil {
		return nil, err
	}
	mods, err := h.Service.PolicyModules(ctx)
	if err != nil {
		return nil, err
	}
	out := &policyModulesOutput{}
	out.Body.Modules = mods
	return out, nil
}
