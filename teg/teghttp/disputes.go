package teghttp

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/teg"
)

// DisputeOutput is a dispute as its participants see it, with the ledger event of the write
// that answered (none for a read).
type DisputeOutput struct {
	teg.DisputeView
	Event *TransferView `json:"event,omitempty" doc:"The ledger event the write made"`
}

type disputeOutput struct {
	Status int
	Body   DisputeOutput
}

type disputeListOutput struct {
	Body struct {
		Items []teg.Dispute `json:"items" doc:"Newest first"`
	}
}

type fileDisputeInput struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	Body           struct {
		Agent      string `json:"agent,omitempty" maxLength:"128" doc:"The filing agent (default: the calling agent)"`
		Respondent string `json:"respondent,omitempty" maxLength:"128" doc:"The agent the dispute is against (default: the other party of transfer)"`
		Transfer   string `json:"transfer,omitempty" maxLength:"200" doc:"The transfer the dispute is about, between the two; an active pending transfer (a paid task) is frozen until the dispute ends"`
		Category   string `json:"category" enum:"unfair_fee,failed_service,reputation_abuse,contract_violation,data_integrity,other"`
		Claim      string `json:"claim,omitempty" maxLength:"65536" doc:"What the filer claims (at most the evidence text bound, 4 KiB by default)"`
	}
}

type disputeRefInput struct {
	ID string `path:"id" maxLength:"128" doc:"The dispute"`
}

type listDisputesInput struct {
	Agent string `query:"agent" maxLength:"128" doc:"Whose disputes (as a party or a panelist; default: the calling agent; an admin without it: every dispute)"`
	State string `query:"state" maxLength:"16" doc:"Only disputes in this state: OPEN, EVIDENCE, ARBITRATION, RULED, APPEALED, CLOSED, WITHDRAWN, REJECTED or EXPIRED"`
}

// DisputeWrite are the parameters of every write on one dispute: its Idempotency-Key and id.
type DisputeWrite struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"200" doc:"Makes the write idempotent: a replay returns the first result; another body with the same key is 409 IDEMPOTENCY_KEY_REUSED"`
	ID             string `path:"id" maxLength:"128" doc:"The dispute"`
}

type evidenceInput struct {
	DisputeWrite
	Body struct {
		Agent string `json:"agent,omitempty" maxLength:"128" doc:"The party submitting (default: the calling agent)"`
		Hash  string `json:"hash,omitempty" maxLength:"128" doc:"The hash of a document kept elsewhere (e.g. hex SHA-256)"`
		URI   string `json:"uri,omitempty" maxLength:"2048" doc:"Where the document is"`
		Text  string `json:"text,omitempty" maxLength:"65536" doc:"The evidence itself (at most 4 KiB by default: EVIDENCE_TOO_LARGE)"`
	}
}

type commitInput struct {
	DisputeWrite
	Body struct {
		Agent      string `json:"agent,omitempty" maxLength:"128" doc:"The panelist (default: the calling agent)"`
		Commitment string `json:"commitment" maxLength:"64" doc:"hex SHA-256 of \"<dispute>\\n<arbitrator>\\n<vote>\\n<salt>\" (vote: filer or respondent)"`
	}
}

type revealInput struct {
	DisputeWrite
	Body struct {
		Agent string `json:"agent,omitempty" maxLength:"128" doc:"The panelist (default: the calling agent)"`
		Vote  string `json:"vote" maxLength:"16" doc:"filer or respondent"`
		Salt  string `json:"salt" maxLength:"256" doc:"The salt of the commitment"`
	}
}

type disputeActInput struct {
	DisputeWrite
	Body *struct {
		Agent string `json:"agent,omitempty" maxLength:"128" doc:"The acting party (default: the calling agent)"`
	} `required:"false"`
}

type rejectInput struct {
	DisputeWrite
	Body *struct {
		Reason string `json:"reason,omitempty" maxLength:"1024" doc:"Why (at most 256 bytes; recorded in the event log)"`
	} `required:"false"`
}

// RegisterDisputes adds the dispute routes (/api/v1/disputes/…, the admin's reject) to api.
func (h *Token) RegisterDisputes(api huma.API) {
	const tag = "disputes"
	httpapi.Register(api, op("dispute-file", http.MethodPost, "/api/v1/disputes", "File a dispute, paying the filing fee (agents from tier New)", http.StatusCreated, tag), h.fileDispute)
	httpapi.Register(api, op("dispute-list", http.MethodGet, "/api/v1/disputes", "The disputes an agent takes part in, newest first (the agent, or an admin)", http.StatusOK, tag), h.listDisputes)
	httpapi.Register(api, op("dispute-show", http.MethodGet, "/api/v1/disputes/{id}", "A dispute with its evidence and panel (its parties, its panel, or an admin)", http.StatusOK, tag), h.showDispute)
	httpapi.Register(api, op("dispute-evidence", http.MethodPost, "/api/v1/disputes/{id}/evidence", "Submit evidence (the parties, before arbitration)", http.StatusCreated, tag), h.evidence)
	httpapi.Register(api, op("dispute-commit", http.MethodPost, "/api/v1/disputes/{id}/commit", "Commit a vote (a panelist, before the commit deadline)", http.StatusCreated, tag), h.commitVote)
	httpapi.Register(api, op("dispute-reveal", http.MethodPost, "/api/v1/disputes/{id}/reveal", "Reveal a committed vote (a panelist, between the commit and reveal deadlines)", http.StatusCreated, tag), h.revealVote)
	httpapi.Register(api, op("dispute-appeal", http.MethodPost, "/api/v1/disputes/{id}/appeal", "Appeal a ruling once, for twice the fee (the party it went against)", http.StatusCreated, tag), h.appeal)
	httpapi.Register(api, op("dispute-withdraw", http.MethodPost, "/api/v1/disputes/{id}/withdraw", "Withdraw a dispute before arbitration (the filer; the fee goes to the treasury)", http.StatusCreated, tag), h.withdraw)
	httpapi.Register(api, op("dispute-reject", http.MethodPost, "/api/v1/admin/disputes/{id}/reject", "Reject a dispute before arbitration (admin; the fee goes to the treasury)", http.StatusCreated, tag), h.reject)
}

// disputeAfter answers a dispute write: the dispute as it now stands and the write's event.
func (h *Token) disputeAfter(ctx context.Context, id string, t teg.Transfer, replayed bool, err error) (*disputeOutput, error) {
	if err != nil {
		return nil, err
	}
	d, err := h.Service.DisputeOf(ctx, httpapi.Subject(ctx), id)
	if err != nil {
		return nil, err
	}
	ev := transferView(t, replayed)
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
	}
	return &disputeOutput{Status: status, Body: DisputeOutput{DisputeView: *d, Event: &ev}}, nil
}

func (h *Token) fileDispute(ctx context.Context, in *fileDisputeInput) (*disputeOutput, error) {
	caller := httpapi.Subject(ctx)
	agent, err := agentOf(caller, in.Body.Agent)
	if err != nil {
		return nil, err
	}
	d, replayed, err := h.Service.FileDispute(ctx, caller, teg.DisputeFiling{Agent: agent, Respondent: teg.AccountID(in.Body.Respondent),
		Transfer: in.Body.Transfer, Category: in.Body.Category, Claim: in.Body.Claim}, in.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
	}
	return &disputeOutput{Status: status, Body: DisputeOutput{DisputeView: *d}}, nil
}

func (h *Token) listDisputes(ctx context.Context, in *listDisputesInput) (*disputeListOutput, error) {
	caller := httpapi.Subject(ctx)
	agent := teg.AccountID(in.Agent)
	if agent == "" && !caller.HasRole("admin") {
		var err error
		if agent, err = agentOf(caller, ""); err != nil {
			return nil, err
		}
	}
	items, err := h.Service.Disputes(ctx, caller, agent, teg.DisputeState(in.State))
	if err != nil {
		return nil, err
	}
	out := &disputeListOutput{}
	out.Body.Items = items
	return out, nil
}

func (h *Token) showDispute(ctx context.Context, in *disputeRefInput) (*disputeOutput, error) {
	d, err := h.Service.DisputeOf(ctx, httpapi.Subject(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &disputeOutput{Status: http.StatusOK, Body: DisputeOutput{DisputeView: *d}}, nil
}

func (h *Token) evidence(ctx context.Context, in *evidenceInput) (*disputeOutput, error) {
	caller := httpapi.Subject(ctx)
	agent, err := agentOf(caller, in.Body.Agent)
	if err != nil {
		return nil, err
	}
	t, r, err := h.Service.SubmitEvidence(ctx, caller, agent, in.ID, teg.EvidenceInput{Hash: in.Body.Hash, URI: in.Body.URI, Text: in.Body.Text}, in.IdempotencyKey)
	return h.disputeAfter(ctx, in.ID, t, r, err)
}

func (h *Token) commitVote(ctx context.Context, in *commitInput) (*disputeOutput, error) {
	caller := httpapi.Subject(ctx)
	agent, err := agentOf(caller, in.Body.Agent)
	if err != nil {
		return nil, err
	}
	t, r, err := h.Service.CommitVote(ctx, caller, agent, in.ID, in.Body.Commitment, in.IdempotencyKey)
	return h.disputeAfter(ctx, in.ID, t, r, err)
}

func (h *Token) revealVote(ctx context.Context, in *revealInput) (*disputeOutput, error) {
	caller := httpapi.Subject(ctx)
	agent, err := agentOf(caller, in.Body.Agent)
	if err != nil {
		return nil, err
	}
	t, r, err := h.Service.RevealVote(ctx, caller, agent, in.ID, in.Body.Vote, in.Body.Salt, in.IdempotencyKey)
	return h.disputeAfter(ctx, in.ID, t, r, err)
}

// actingAgent is the agent a bodiless dispute action acts for.
func actingAgent(ctx context.Context, in *disputeActInput) (teg.AccountID, error) {
	named := ""
	if in.Body != nil {
		named = in.Body.Agent
	}
	return agentOf(httpapi.Subject(ctx), named)
}

func (h *Token) appeal(ctx context.Context, in *disputeActInput) (*disputeOutput, error) {
	agent, err := actingAgent(ctx, in)
	if err != nil {
		return nil, err
	}
	t, r, err := h.Service.Appeal(ctx, httpapi.Subject(ctx), agent, in.ID, in.IdempotencyKey)
	return h.disputeAfter(ctx, in.ID, t, r, err)
}

func (h *Token) withdraw(ctx context.Context, in *disputeActInput) (*disputeOutput, error) {
	agent, err := actingAgent(ctx, in)
	if err != nil {
		return nil, err
	}
	t, r, err := h.Service.WithdrawDispute(ctx, httpapi.Subject(ctx), agent, in.ID, in.IdempotencyKey)
	return h.disputeAfter(ctx, in.ID, t, r, err)
}

func (h *Token) reject(ctx context.Context, in *rejectInput) (*disputeOutput, error) {
	reason := ""
	if in.Body != nil {
		reason = in.Body.Reason
	}
	t, r, err := h.Service.RejectDispute(ctx, httpapi.Subject(ctx), in.ID, reason, in.IdempotencyKey)
	return h.disputeAfter(ctx, in.ID, t, r, err)
}
