// Package fedhttp serves federation over HTTP: the peer routes of the API
// (/api/v1/federation/peers…), the live query and the sync routes other registries call over
// mutual TLS (GET /federation/v1/query, GET /federation/v1/changes, POST /federation/v1/hint),
// and Client, the mTLS client that calls them on peers.
package fedhttp

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/httpapi"
)

// QueryPath is the live query served to peers.
const QueryPath = "/federation/v1/query"

// LocalSearch runs a discovery search on this registry alone and returns its hits (tagged
// with this registry's trust domain as their origin).
type LocalSearch func(ctx context.Context, q federation.Query) ([]federation.Hit, error)

// Handler serves the federation routes.
type Handler struct {
	Service *federation.Service
	Fanout  *federation.Fanout
	Bundles *federation.Bundles
	Local   LocalSearch
	// Feed is this registry's own change feed, served to peers (nil: no sync routes).
	Feed federation.Feed
	// Syncer pulls the peers' feeds (nil: hints are acknowledged and nothing pulls).
	Syncer *federation.Syncer
}

// BundleView is what this registry knows of a peer's trust bundle.
type BundleView struct {
	RefreshedAt *time.Time `json:"refreshed_at,omitempty" doc:"When the bundle was last fetched"`
	NextRefresh *time.Time `json:"next_refresh,omitempty"`
	RefreshHint string     `json:"refresh_hint,omitempty" doc:"The peer's spiffe_refresh_hint"`
	Error       string     `json:"error,omitempty" doc:"Why the last fetch failed"`
}

// PeerView is a peer as the API shows it.
type PeerView struct {
	ID             string                 `json:"id"`
	Name           string                 `json:"name"`
	BaseURL        string                 `json:"base_url" doc:"The peer's federation endpoint (mutual TLS)"`
	TrustDomain    string                 `json:"trust_domain"`
	BundleEndpoint string                 `json:"bundle_endpoint"`
	State          string                 `json:"state" enum:"PENDING_APPROVAL,ACTIVE,INACTIVE,REJECTED"`
	ProposedBy     string                 `json:"proposed_by"`
	DecidedBy      string                 `json:"decided_by,omitempty"`
	Reason         string                 `json:"reason,omitempty"`
	Version        int                    `json:"version"`
	CreatedAt      time.Time              `json:"created_at"`
	UpdatedAt      time.Time              `json:"updated_at"`
	Health         *federation.Health     `json:"health,omitempty" doc:"What this registry saw of the peer in live queries (ACTIVE and INACTIVE peers)"`
	Bundle         *BundleView            `json:"bundle,omitempty" doc:"The peer's trust bundle (ACTIVE peers)"`
	Sync           *federation.SyncHealth `json:"sync,omitempty" doc:"What this registry saw pulling the peer's change feed (ACTIVE and INACTIVE peers)"`
}

func (h *Handler) view(p federation.Peer) PeerView {
	v := PeerView{ID: p.ID, Name: p.Name, BaseURL: p.BaseURL, TrustDomain: p.TrustDomain, BundleEndpoint: p.BundleEndpoint,
		State: string(p.State), ProposedBy: p.ProposedBy, DecidedBy: p.DecidedBy, Reason: p.Reason, Version: p.Version,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
	if p.State == federation.StateActive || p.State == federation.StateInactive {
		hl := h.Fanout.Health(p.TrustDomain)
		v.Health = &hl
		if h.Syncer != nil {
			sh := h.Syncer.Health(p.TrustDomain)
			v.Sync = &sh
		}
	}
	if td, err := spiffeid.TrustDomainFromString(p.TrustDomain); err == nil && h.Bundles != nil {
		if st, ok := h.Bundles.Status(td); ok {
			b := &BundleView{RefreshedAt: st.RefreshedAt, Error: st.Error}
			if !st.NextRefresh.IsZero() {
				b.NextRefresh = &st.NextRefresh
			}
			if st.RefreshHint > 0 {
				b.RefreshHint = st.RefreshHint.String()
			}
			v.Bundle = b
		}
	}
	return v
}

// PeerProposal is the body of a peer proposal.
type PeerProposal struct {
	Name           string `json:"name" maxLength:"100" doc:"A label for the peer"`
	BaseURL        string `json:"base_url" maxLength:"2048" doc:"The peer's federation endpoint: https (http on a loopback host only)"`
	TrustDomain    string `json:"trust_domain" maxLength:"255" doc:"The peer's SPIFFE trust domain"`
	BundleEndpoint string `json:"bundle_endpoint" maxLength:"2048" doc:"Where the peer serves its SPIFFE bundle (…/.well-known/spiffe-bundle)"`
}

type proposeInput struct {
	Body PeerProposal
}

type peerOutput struct {
	Body PeerView
}

// PeerList is every peer, oldest first.
type PeerList struct {
	Items []PeerView `json:"items"`
}

type listOutput struct {
	Body PeerList
}

type peerIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type decideInput struct {
	ID     string `path:"id" maxLength:"64"`
	Action string `path:"action" maxLength:"32" doc:"approve, reject, deactivate or reactivate"`
	Body   *PeerDecision
}

// PeerDecision is the optional body of an admin's decision on a peer.
type PeerDecision struct {
	Reason string `json:"reason,omitempty" maxLength:"500" doc:"A note kept with the decision"`
}

// queryInput is a peer's live query.
type queryInput struct {
	Q          string   `query:"q" maxLength:"1024"`
	Tag        []string `query:"tag" maxItems:"16"`
	Skill      []string `query:"skill" maxItems:"16"`
	Capability []string `query:"capability" maxItems:"16"`
	Limit      int      `query:"limit" minimum:"1" maximum:"100" default:"20"`
	Hops       int      `query:"hops" minimum:"0" maximum:"8" default:"0" doc:"How many registries further the query may still be forwarded"`
	Origin     []string `query:"origin" maxItems:"64" doc:"Trust domains the query went through (first: where it started); none is asked again"`
	BudgetMS   int      `query:"budget_ms" minimum:"0" maximum:"60000" doc:"How long the asker waits for this answer; a forwarded fan-out fits in it"`
}

// QueryAnswer is a registry's answer to a peer's live query.
type QueryAnswer struct {
	Registry string                   `json:"registry" doc:"The answering registry's trust domain"`
	Items    []federation.Hit         `json:"items"`
	Peers    []federation.PeerOutcome `json:"peers"`
}

type queryOutput struct {
	Body QueryAnswer
}

func op(id, method, path, summary string, status int) huma.Operation {
	return httpapi.Operation(id, method, path, summary, "federation", status, false)
}

// Register adds the peer routes and the live query to api.
func (h *Handler) Register(api huma.API) {
	httpapi.Register(api, op("federation-peer-propose", http.MethodPost, "/api/v1/federation/peers",
		"Propose a peer registry (a verified developer); an admin approves it", http.StatusCreated), h.propose)
	httpapi.Register(api, op("federation-peer-list", http.MethodGet, "/api/v1/federation/peers",
		"List the peer registries with their state, health and bundle", http.StatusOK), h.list)
	httpapi.Register(api, op("federation-peer-get", http.MethodGet, "/api/v1/federation/peers/{id}",
		"Read a peer registry", http.StatusOK), h.get)
	httpapi.Register(api, op("federation-peer-decide", http.MethodPost, "/api/v1/federation/peers/{id}/{action}",
		"Approve, reject, deactivate or reactivate a peer (admin)", http.StatusOK), h.decide)
	o := op("federation-query", http.MethodGet, QueryPath,
		"Live discovery query between registries (mutual TLS with a peer registry's X.509-SVID)", http.StatusOK)
	httpapi.Register(api, o, h.query)
	h.registerSync(api)
}

func (h *Handler) propose(ctx context.Context, in *proposeInput) (*peerOutput, error) {
	p, err := h.Service.Propose(ctx, httpapi.Subject(ctx), federation.Proposal{Name: in.Body.Name, BaseURL: in.Body.BaseURL,
		TrustDomain: in.Body.TrustDomain, BundleEndpoint: in.Body.BundleEndpoint})
	if err != nil {
		return nil, err
	}
	return &peerOutput{Body: h.view(p)}, nil
}

func (h *Handler) list(ctx context.Context, _ *struct{}) (*listOutput, error) {
	ps, err := h.Service.List(ctx, httpapi.Subject(ctx))
	if err != nil {
		return nil, err
	}
	out := PeerList{Items: make([]PeerView, 0, len(ps))}
	for _, p := range ps {
		out.Items = append(out.Items, h.view(p))
	}
	return &listOutput{Body: out}, nil
}

func (h *Handler) get(ctx context.Context, in *peerIDInput) (*peerOutput, error) {
	p, err := h.Service.Get(ctx, httpapi.Subject(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &peerOutput{Body: h.view(p)}, nil
}

func (h *Handler) decide(ctx context.Context, in *decideInput) (*peerOutput, error) {
	reason := ""
	if in.Body != nil {
		reason = in.Body.Reason
	}
	p, err := h.Service.Decide(ctx, httpapi.Subject(ctx), in.ID, federation.Action(in.Action), reason)
	if err != nil {
		return nil, err
	}
	return &peerOutput{Body: h.view(p)}, nil
}

func (h *Handler) query(ctx context.Context, in *queryInput) (*queryOutput, error) {
	caller, err := h.Service.AuthorizeQuery(ctx, httpapi.Subject(ctx))
	if err != nil {
		return nil, err
	}
	q := federation.Query{Text: in.Q, Tags: in.Tag, Skills: in.Skill, Capabilities: in.Capability, Limit: in.Limit,
		Hops: min(in.Hops, federation.MaxHopsLimit), Origins: in.Origin, Budget: time.Duration(in.BudgetMS) * time.Millisecond}
	if !slices.Contains(q.Origins, caller.TrustDomain) {
		q.Origins = append(q.Origins, caller.TrustDomain)
	}
	local, err := h.Local(ctx, q)
	if err != nil {
		return nil, err
	}
	res := h.Fanout.Query(ctx, q, local)
	out := QueryAnswer{Registry: h.Fanout.Self, Items: res.Hits, Peers: res.Peers}
	if out.Items == nil {
		out.Items = []federation.Hit{}
	}
	if out.Peers == nil {
		out.Peers = []federation.PeerOutcome{}
	}
	return &queryOutput{Body: out}, nil
}
