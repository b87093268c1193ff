// Package attesthttp serves attestations over HTTP (/api/v1/attestations…): submit, the
// registry's uptime attestation, read, list by subject, type and attester, and verify. It
// decodes requests, calls attestation.Service with the authenticated subject and encodes the
// answers; the rules live in package attestation and the policy.
package attesthttp

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/attestation"
	"github.com/sovereign-stack/sovereign/httpapi"
)

// Attestations serves the attestation routes.
type Attestations struct {
	Service *attestation.Service
}

// SignatureView is one signature of an attestation.
type SignatureView struct {
	Signer string `json:"signer" maxLength:"128" doc:"The signer: an agent id, or the SPIFFE ID of the registry (uptime)"`
	Alg    string `json:"alg" doc:"EdDSA: Ed25519 over the statement's canonical form with the signer's registered key; JWT-SVID: a JWT-SVID of the signer whose one audience is spiffe://<trust domain>/attestation/<statement digest>"`
	Key    string `json:"key,omitempty" maxLength:"256" doc:"The did:key of the Ed25519 key that verified an EdDSA signature (filled in by the stack; ignored on submission)"`
	Value  string `json:"value" maxLength:"4096" doc:"The signature (base64url, no padding) or the JWT-SVID"`
}

// AttestationView is a stored attestation.
type AttestationView struct {
	ID             string         `json:"id" doc:"att_ and the SHA-256 of the statement's canonical form"`
	Type           string         `json:"type"`
	Subject        string         `json:"subject"`
	Attester       string         `json:"attester"`
	EvidenceHash   string         `json:"evidence_hash"`
	EvidenceURI    string         `json:"evidence_uri"`
	IssuedAt       time.Time      `json:"issued_at"`
	TransferID     string         `json:"transfer_id,omitempty"`
	Signature      SignatureView  `json:"signature"`
	Cosignature    *SignatureView `json:"cosignature,omitempty"`
	Reward         string         `json:"reward" doc:"AVT the treasury pays the subject for it"`
	RewardKey      string         `json:"reward_key" doc:"The reward's idempotency key (from subject, type and evidence hash): the ledger pays it at most once"`
	RewardPaid     bool           `json:"reward_paid" doc:"false while the payment is pending (it is retried in the background)"`
	RewardTransfer string         `json:"reward_transfer,omitempty" doc:"The ledger transfer that paid the reward"`
	CreatedAt      time.Time      `json:"created_at" doc:"When the stack accepted it"`
}

// View is a as the API shows it.
func View(a attestation.Attestation) AttestationView {
	v := AttestationView{ID: a.ID, Type: a.Type, Subject: a.Subject, Attester: a.Attester, EvidenceHash: a.EvidenceHash, EvidenceURI: a.EvidenceURI,
		IssuedAt: a.IssuedAt, TransferID: a.TransferID, Signature: SignatureView(a.Signature), Reward: a.Reward.String(), RewardKey: a.RewardKey,
		RewardPaid: a.RewardPaid, RewardTransfer: a.RewardTransfer, CreatedAt: a.CreatedAt}
	if a.Cosignature != nil {
		co := SignatureView(*a.Cosignature)
		v.Cosignature = &co
	}
	return v
}

type submitInput struct {
	Body struct {
		Type         string         `json:"type" maxLength:"64" doc:"task_completed, code_review or data_quality (uptime: POST /api/v1/attestations:uptime)"`
		Subject      string         `json:"subject" maxLength:"256" doc:"The agent the attestation is about"`
		Attester     string         `json:"attester,omitempty" maxLength:"256" doc:"Who attests (default: the caller)"`
		EvidenceHash string         `json:"evidence_hash" maxLength:"256" doc:"sha256:<64 lowercase hex> of the evidence"`
		EvidenceURI  string         `json:"evidence_uri" maxLength:"2048" doc:"Where the evidence is: https, http or ipfs, at most 512 bytes"`
		IssuedAt     time.Time      `json:"issued_at" doc:"RFC 3339; at most 5 minutes ahead, at most 7 days old (signed to the second)"`
		TransferID   string         `json:"transfer_id,omitempty" maxLength:"256" doc:"task_completed: the completed transfer (or post of a paid task) the subject was paid by"`
		Signature    SignatureView  `json:"signature" doc:"The attester's signature of the statement"`
		Cosignature  *SignatureView `json:"cosignature,omitempty" doc:"task_completed: the transfer's payer's signature of the same statement"`
	}
}

type attestationOutput struct{ Body AttestationView }

type uptimeInput struct {
	Body struct {
		Subject string `json:"subject" maxLength:"256" doc:"The agent whose heartbeats the registry attests (the caller, or any agent for an admin)"`
	}
}

type idInput struct {
	ID string `path:"id" maxLength:"128"`
}

type listInput struct {
	Subject  string `query:"subject" maxLength:"256" doc:"Only attestations about this agent"`
	Type     string `query:"type" maxLength:"64" doc:"Only of this type"`
	Attester string `query:"attester" maxLength:"256" doc:"Only by this attester"`
	httpapi.PageParams
}

// Page is a page of attestations, newest first.
type Page struct {
	Items      []AttestationView `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

type listOutput struct{ Body Page }

type verifyOutput struct{ Body attestation.Verified }

func op(id, method, path, summary string, status int, public bool) huma.Operation {
	return httpapi.Operation(id, method, path, summary, "attestations", status, public)
}

// Register adds the attestation routes to api.
func (h *Attestations) Register(api huma.API) {
	httpapi.Register(api, op("attestation-submit", http.MethodPost, "/api/v1/attestations",
		"Submit a signed attestation (its attester); verified, stored, and its subject rewarded from the treasury once", http.StatusCreated, false), h.submit)
	httpapi.Register(api, op("attestation-uptime", http.MethodPost, "/api/v1/attestations:uptime",
		"Have the registry attest an agent's uptime from its heartbeat record (the agent itself, or an admin)", http.StatusCreated, false), h.uptime)
	httpapi.Register(api, op("attestation-list", http.MethodGet, "/api/v1/attestations",
		"Attestations, newest first, by subject, type and attester", http.StatusOK, true), h.list)
	httpapi.Register(api, op("attestation-read", http.MethodGet, "/api/v1/attestations/{id}",
		"One attestation with its signatures", http.StatusOK, true), h.read)
	httpapi.Register(api, op("attestation-verify", http.MethodGet, "/api/v1/attestations/{id}/verify",
		"Verify an attestation's signatures now, against the stack's current trust bundle (as an offline verifier does)", http.StatusOK, true), h.verify)
}

func (h *Attestations) submit(ctx context.Context, in *submitInput) (*attestationOutput, error) {
	b := in.Body
	caller := httpapi.Subject(ctx)
	if b.Attester == "" {
		b.Attester = caller.ID
	}
	sub := attestation.Submission{Statement: attestation.Statement{Type: b.Type, Subject: b.Subject, Attester: b.Attester, EvidenceHash: b.EvidenceHash,
		EvidenceURI: b.EvidenceURI, IssuedAt: b.IssuedAt, TransferID: b.TransferID}, Signature: attestation.Signature(b.Signature)}
	if b.Cosignature != nil {
		co := attestation.Signature(*b.Cosignature)
		sub.Cosignature = &co
	}
	a, err := h.Service.Submit(ctx, caller, sub)
	if err != nil {
		return nil, err
	}
	return &attestationOutput{Body: View(a)}, nil
}

func (h *Attestations) uptime(ctx context.Context, in *uptimeInput) (*attestationOutput, error) {
	a, err := h.Service.IssueUptime(ctx, httpapi.Subject(ctx), in.Body.Subject)
	if err != nil {
		return nil, err
	}
	return &attestationOutput{Body: View(a)}, nil
}

func (h *Attestations) read(ctx context.Context, in *idInput) (*attestationOutput, error) {
	a, err := h.Service.Get(ctx, httpapi.Subject(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &attestationOutput{Body: View(a)}, nil
}

func (h *Attestations) verify(ctx context.Context, in *idInput) (*verifyOutput, error) {
	v, err := h.Service.VerifyStored(ctx, httpapi.Subject(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &verifyOutput{Body: v}, nil
}

func (h *Attestations) list(ctx context.Context, in *listInput) (*listOutput, error) {
	var after *attestation.Cursor
	if in.Cursor != "" {
		after = &attestation.Cursor{}
		if err := httpapi.DecodeCursor(in.Cursor, after); err != nil {
			return nil, err
		}
	}
	items, err := h.Service.List(ctx, httpapi.Subject(ctx), attestation.Query{Subject: in.Subject, Type: in.Type, Attester: in.Attester}, after, in.Limit+1)
	if err != nil {
		return nil, err
	}
	page, next := httpapi.Paginate(items, in.Limit, func(a attestation.Attestation) any {
		return attestation.Cursor{CreatedAt: a.CreatedAt, ID: a.ID}
	})
	out := &listOutput{Body: Page{Items: make([]AttestationView, 0, len(page)), NextCursor: next}}
	for _, a := range page {
		out.Body.Items = append(out.Body.Items, View(a))
	}
	return out, nil
}
