// Package rephttp serves reputation over HTTP (/api/v1/reputation/…): ratings, scores with
// their factors, and an admin's recompute. It decodes requests, calls reputation.Service with
// the authenticated subject, and encodes the answers; the rules live in package reputation and
// the policy.
package rephttp

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/reputation"
)

// Reputation serves the reputation routes.
type Reputation struct {
	Service *reputation.Service
}

// RatingView is a rating as the API shows it.
type RatingView struct {
	InteractionID string    `json:"interaction_id" doc:"The ledger transfer rated"`
	Rater         string    `json:"rater" doc:"The transfer's payer"`
	Ratee         string    `json:"ratee" doc:"The transfer's payee"`
	Stars         int       `json:"stars" minimum:"1" maximum:"5"`
	Comment       string    `json:"comment,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

func ratingView(r reputation.Rating) RatingView {
	return RatingView{InteractionID: r.InteractionID, Rater: r.Rater, Ratee: r.Ratee, Stars: r.Stars, Comment: r.Comment, CreatedAt: r.CreatedAt}
}

// FactorView is one term of a score.
type FactorView struct {
	Name   string  `json:"name" doc:"base, transitive_trust, paid_tasks, attestations, stake, disputes_lost, auditor_flags"`
	Value  float64 `json:"value" doc:"The factor's input (relative trust, success rate, count, AVT staked, …)"`
	Weight float64 `json:"weight" doc:"The most points it can add; for a penalty, the points one occurrence takes"`
	Points float64 `json:"points" doc:"The points it gave: the score is their sum, clamped to 0–1000"`
}

// ScoreView is an agent's reputation.
type ScoreView struct {
	Agent       string       `json:"agent"`
	Score       int          `json:"score" minimum:"0" maximum:"1000"`
	Tier        string       `json:"tier" doc:"From the ledger's tier table in force"`
	PerTransfer string       `json:"per_transfer" doc:"The tier's largest single transfer, AVT"`
	Daily       string       `json:"daily" doc:"The tier's most sent over a rolling 24 hours, AVT"`
	Factors     []FactorView `json:"factors"`
	ComputedAt  time.Time    `json:"computed_at"`
	Provisional bool         `json:"provisional,omitempty" doc:"No pass has scored this agent yet: the score of a fresh agent with its stake"`
}

type agentInput struct {
	Agent string `path:"agent" maxLength:"128" doc:"The agent's id"`
}

type rateInput struct {
	Agent string `path:"agent" maxLength:"128" doc:"The agent rated: the transfer's payee"`
	Body  struct {
		InteractionID string `json:"interaction_id" maxLength:"256" doc:"The id of the completed transfer (or of the post that completed a held payment) you paid"`
		Stars         int    `json:"stars" doc:"1 to 5"`
		Comment       string `json:"comment,omitempty" maxLength:"4096" doc:"At most 280 bytes"`
	}
}

type ratingOutput struct {
	Body RatingView
}

type ratingsInput struct {
	Agent string `path:"agent" maxLength:"128"`
	httpapi.PageParams
}

// RatingPage is a page of an agent's ratings, newest first.
type RatingPage struct {
	Items      []RatingView `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

type ratingsOutput struct{ Body RatingPage }

type scoreOutput struct{ Body ScoreView }

// PassView is what a recompute did.
type PassView struct {
	Agents         int       `json:"agents" doc:"Agents scored: everyone rated or rating, and the pre-trusted"`
	Ratings        int       `json:"ratings"`
	Edges          int       `json:"edges" doc:"Positive local-trust edges of the trust graph"`
	Pretrusted     int       `json:"pretrusted"`
	Iterations     int       `json:"iterations" doc:"EigenTrust iterations to convergence"`
	LoadSeconds    float64   `json:"load_seconds"`
	ComputeSeconds float64   `json:"compute_seconds"`
	Seconds        float64   `json:"seconds" doc:"The whole pass, loading and storing included"`
	ComputedAt     time.Time `json:"computed_at"`
}

type passOutput struct{ Body PassView }

func op(id, method, path, summary string, status int, public bool) huma.Operation {
	return httpapi.Operation(id, method, path, summary, "reputation", status, public)
}

// Register adds the reputation routes to api.
func (h *Reputation) Register(api huma.API) {
	httpapi.Register(api, op("reputation-rate", http.MethodPost, "/api/v1/reputation/{agent}/ratings",
		"Rate the payee of a transfer you paid: once, within 7 days, 1 to 5 stars (agents)", http.StatusCreated, false), h.rate)
	httpapi.Register(api, op("reputation-ratings", http.MethodGet, "/api/v1/reputation/{agent}/ratings",
		"The ratings an agent received, newest first", http.StatusOK, true), h.ratings)
	httpapi.Register(api, op("reputation-read", http.MethodGet, "/api/v1/reputation/{agent}",
		"An agent's score (0–1000), tier and every factor of the score", http.StatusOK, true), h.read)
	httpapi.Register(api, op("reputation-portable", http.MethodGet, "/api/v1/reputation/{agent}/attestation",
		"The agent's score and tier as a compact JWS (a JWT-SVID of the TEG whose audience is the statement), verifiable offline with the trust bundle", http.StatusOK, true), h.portable)
	httpapi.Register(api, op("reputation-recompute", http.MethodPost, "/api/v1/admin/reputation:recompute",
		"Recompute every score now: a full EigenTrust pass (admin)", http.StatusOK, false), h.recompute)
}

func (h *Reputation) rate(ctx context.Context, in *rateInput) (*ratingOutput, error) {
	r, err := h.Service.Rate(ctx, httpapi.Subject(ctx), reputation.RateRequest{Ratee: in.Agent, InteractionID: in.Body.InteractionID,
		Stars: in.Body.Stars, Comment: in.Body.Comment})
	if err != nil {
		return nil, err
	}
	return &ratingOutput{Body: ratingView(r)}, nil
}

func (h *Reputation) ratings(ctx context.Context, in *ratingsInput) (*ratingsOutput, error) {
	var after *reputation.RatingCursor
	if in.Cursor != "" {
		after = &reputation.RatingCursor{}
		if err := httpapi.DecodeCursor(in.Cursor, after); err != nil {
			return nil, err
		}
	}
	items, err := h.Service.Ratings(ctx, httpapi.Subject(ctx), in.Agent, after, in.Limit+1)
	if err != nil {
		return nil, err
	}
	page, next := httpapi.Paginate(items, in.Limit, func(r reputation.Rating) any {
		return reputation.RatingCursor{CreatedAt: r.CreatedAt, InteractionID: r.InteractionID}
	})
	out := &ratingsOutput{Body: RatingPage{Items: make([]RatingView, 0, len(page)), NextCursor: next}}
	for _, r := range page {
		out.Body.Items = append(out.Body.Items, ratingView(r))
	}
	return out, nil
}

func (h *Reputation) read(ctx context.Context, in *agentInput) (*scoreOutput, error) {
	sc, tier, err := h.Service.Reputation(ctx, httpapi.Subject(ctx), in.Agent)
	if err != nil {
		return nil, err
	}
	v := ScoreView{Agent: sc.Agent, Score: sc.Score, Tier: sc.Tier, PerTransfer: tier.PerTransfer.String(), Daily: tier.Daily.String(), Factors: make([]FactorView, 0, len(sc.Factors)), ComputedAt: sc.ComputedAt, Provisional: sc.Provisional}
	for _, f := range sc.Factors {
		v.Factors = append(v.Factors, FactorView(f))
	}
	return &scoreOutput{Body: v}, nil
}

func (h *Reputation) recompute(ctx context.Context, _ *struct{}) (*passOutput, error) {
	r, err := h.Service.Recompute(ctx, httpapi.Subject(ctx))
	if err != nil {
		return nil, err
	}
	return &passOutput{Body: PassView{Agents: r.Agents, Ratings: r.Ratings, Edges: r.Edges, Pretrusted: r.Pretrusted, Iterations: r.Iterations,
		LoadSeconds: r.LoadTime.Seconds(), ComputeSeconds: r.Compute.Seconds(), Seconds: r.Total.Seconds(), ComputedAt: r.ComputedAt}}, nil
}

// PortableView is a signed reputation statement.
type PortableView struct {
	Token     string    `json:"token" doc:"A compact JWS (ES256 JWT-SVID): verify it with the JWT authorities of GET /.well-known/spiffe-bundle; its audience is sovereign-reputation:v1:AGENT:SCORE:TIER"`
	Agent     string    `json:"agent"`
	Score     int       `json:"score"`
	Tier      string    `json:"tier"`
	Issuer    string    `json:"issuer" doc:"The SPIFFE ID that signed it (the TEG)"`
	ExpiresAt time.Time `json:"expires_at"`
}

type portableOutput struct{ Body PortableView }

func (h *Reputation) portable(ctx context.Context, in *agentInput) (*portableOutput, error) {
	p, err := h.Service.Portable(ctx, httpapi.Subject(ctx), in.Agent)
	if err != nil {
		return nil, err
	}
	return &portableOutput{Body: PortableView(p)}, nil
}
