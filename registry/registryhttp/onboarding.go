package registryhttp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/teg/teghttp"
)

// RateBootstrap is the rate-limit class counting bootstrap tokens per developer (5 a minute by default).
const RateBootstrap = "bootstrap"

// Onboarding serves the bootstrap protocol (/api/v1/onboard/…), the agents' OAuth2 token
// endpoint and the agent's own routes (/api/v1/agents/me…).
type Onboarding struct {
	Service *registry.Onboarding
	Cards   *Cards
	Limits  *httpapi.RateLimits
	// HeartbeatInterval is how often agents are expected to send heartbeats (the registry marks
	// an agent silent for three of them inactive); heartbeat answers advertise it.
	HeartbeatInterval time.Duration
}

// BootstrapTokenView is an outstanding bootstrap token (its secret only at creation).
type BootstrapTokenView struct {
	ID        string    `json:"id" example:"boot_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C"`
	Token     string    `json:"token,omitempty" doc:"The single-use token (bst_…), shown only now"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

type bootstrapOutput struct {
	Body BootstrapTokenView
}

// BootstrapTokenList is the developer's outstanding bootstrap tokens.
type BootstrapTokenList struct {
	Items []BootstrapTokenView `json:"items"`
}

type bootstrapListOutput struct{ Body BootstrapTokenList }

type bootstrapIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type registerAgentInput struct {
	Token string `header:"Bootstrap-Token" required:"true" maxLength:"128" doc:"The developer's single-use bootstrap token"`
	Body  struct {
		Card      json.RawMessage `json:"card" doc:"The agent's A2A card (v1.0, or v0.3 to be converted)"`
		PublicKey map[string]any  `json:"public_key" doc:"The agent's Ed25519 public key as a JWK {kty: OKP, crv: Ed25519, x}"`
		Proof     string          `json:"proof" maxLength:"256" doc:"The bootstrap token signed with the agent's key: base64url(Ed25519 signature of the token's bytes)"`
		CSR       string          `json:"csr,omitempty" maxLength:"16384" doc:"Optional PKCS#10 request (PEM) for the agent's X.509-SVID"`
	}
}

// RegisteredAgentView is the answer to a registration: the agent's identity and credentials.
type RegisteredAgentView struct {
	AgentID      string   `json:"agent_id"`
	DID          string   `json:"did" example:"did:key:z6Mk…"`
	SPIFFEID     string   `json:"spiffe_id" example:"spiffe://sovereign.test/agent/agt_…"`
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret" doc:"Shown only now: exchange it at /api/v1/auth/agent/token"`
	SVID         string   `json:"svid,omitempty" doc:"X.509-SVID chain (PEM, leaf first), when a CSR was sent"`
	Grant        string   `json:"grant" example:"100" doc:"The starting grant the agent's wallet received from the treasury (AVT)"`
	GrantReason  string   `json:"grant_reason,omitempty" enum:"NO_STARTING_GRANT,GRANT_DAILY_CAP_REACHED" doc:"Why the grant is 0: this registry gives none, or the developer's agents already received the daily cap in the last 24 hours"`
	Card         CardView `json:"card"`
}

type registerAgentOutput struct {
	Body RegisteredAgentView
}

type agentTokenInput struct {
	ContentType   string `header:"Content-Type"`
	Authorization string `header:"Authorization" doc:"Basic client credentials (RFC 6749 §2.3.1), instead of client_id and client_secret in the body"`
	RawBody       []byte
}

// AgentTokenBody is the OAuth2 token response (RFC 6749 §5.1).
type AgentTokenBody struct {
	AccessToken string `json:"access_token" doc:"A JWT-SVID for the agent"`
	TokenType   string `json:"token_type" example:"Bearer"`
	ExpiresIn   int    `json:"expires_in" example:"300"`
}

type agentTokenOutput struct {
	CacheControl string `header:"Cache-Control"`
	Body         AgentTokenBody
}

// AgentView is a registered agent as it sees itself.
type AgentView struct {
	ID              string     `json:"id"`
	DeveloperID     string     `json:"developer_id"`
	DID             string     `json:"did"`
	SPIFFEID        string     `json:"spiffe_id"`
	ClientID        string     `json:"client_id"`
	Status          string     `json:"status" enum:"active,suspended,revoked"`
	SuspendedBy     string     `json:"suspended_by,omitempty" enum:"owner,admin" doc:"Who suspended a suspended agent: its owner, or an admin (whose suspension only an admin lifts)"`
	CreatedAt       time.Time  `json:"created_at"`
	LastHeartbeatAt *time.Time `json:"last_heartbeat_at,omitempty"`
}

func agentView(a *registry.Agent) AgentView {
	return AgentView{ID: a.ID, DeveloperID: a.DeveloperID, DID: a.DID, SPIFFEID: a.SPIFFEID, ClientID: a.ClientID,
		Status: a.Status, SuspendedBy: a.SuspendedBy, CreatedAt: a.CreatedAt, LastHeartbeatAt: a.LastHeartbeatAt}
}

type agentOutput struct{ Body AgentView }

func onboardOp(id, method, path, summary string, status int, auth bool) huma.Operation {
	return operation("onboarding", id, method, path, summary, status, auth)
}

// Register adds the onboarding routes to api.
func (h *Onboarding) Register(api huma.API) {
	httpapi.Register(api, onboardOp("request-bootstrap-token", http.MethodPost, "/api/v1/onboard/bootstrap/request-token", "A single-use token to register one agent (verified developer)", http.StatusCreated, true), h.requestToken)
	httpapi.Register(api, onboardOp("list-bootstrap-tokens", http.MethodGet, "/api/v1/onboard/bootstrap/tokens", "Your outstanding bootstrap tokens", http.StatusOK, true), h.listTokens)
	httpapi.Register(api, onboardOp("revoke-bootstrap-token", http.MethodDelete, "/api/v1/onboard/bootstrap/tokens/{id}", "Revoke an outstanding bootstrap token", http.StatusNoContent, true), h.revokeToken)
	reg := onboardOp("register-agent", http.MethodPost, "/api/v1/onboard/register", "Register an agent with a bootstrap token", http.StatusCreated, false)
	reg.MaxBodyBytes = 512 << 10
	httpapi.Register(api, reg, h.registerAgent)
	tok := onboardOp("agent-token", http.MethodPost, "/api/v1/auth/agent/token", "OAuth2 client credentials: an agent's short-lived token (audience: the TEG, or the agent ids / SPIFFE IDs asked for)", http.StatusOK, false)
	tok.Metadata = map[string]any{httpapi.MetaRateClass: httpapi.RateAuth, httpapi.MetaClientBasicAuth: true}
	tok.Security = []map[string][]string{{httpapi.SchemeClientBasic: {}}, {}}
	httpapi.Register(api, tok, h.token)
	httpapi.Register(api, onboardOp("agent-me", http.MethodGet, "/api/v1/agents/me", "The calling agent", http.StatusOK, true), h.me)
	httpapi.Register(api, onboardOp("agent-rotate-secret", http.MethodPost, "/api/v1/agents/me/secret", "A new client secret for the calling agent (the old one stops working)", http.StatusOK, true), h.rotateSecret)
	httpapi.Register(api, onboardOp("agent-set-status", http.MethodPost, "/api/v1/agents/{id}/status", "Suspend, reactivate or revoke an agent (its developer, or an admin)", http.StatusOK, true), h.setStatus)
	httpapi.Register(api, onboardOp("agent-heartbeat", http.MethodPost, "/api/v1/agents/me/heartbeat", "Tell the registry the agent is alive", http.StatusOK, true), h.heartbeat)
	httpapi.Register(api, onboardOp("list-agents", http.MethodGet, "/api/v1/agents", "Your agents, with status and last heartbeat (developer)", http.StatusOK, true), h.listAgents)
	httpapi.Register(api, onboardOp("get-agent", http.MethodGet, "/api/v1/agents/{id}", "One agent (its developer, or an admin)", http.StatusOK, true), h.getAgent)
	httpapi.Register(api, onboardOp("agent-balance", http.MethodGet, "/api/v1/agents/{id}/balance", "An agent's wallet balances (its developer, or an admin)", http.StatusOK, true), h.agentBalance)
	httpapi.Register(api, onboardOp("agent-transactions", http.MethodGet, "/api/v1/agents/{id}/transactions", "An agent's ledger history, newest first (its developer, or an admin)", http.StatusOK, true), h.agentHistory)
}

func (h *Onboarding) requestToken(ctx context.Context, _ *struct{}) (*bootstrapOutput, error) {
	caller := httpapi.Subject(ctx)
	if h.Limits != nil && caller.ID != "" {
		if err := h.Limits.Check(ctx, RateBootstrap, RateBootstrap+"|"+caller.ID); err != nil {
			return nil, err
		}
	}
	t, plain, err := h.Service.RequestBootstrapToken(ctx, caller)
	if err != nil {
		return nil, err
	}
	return &bootstrapOutput{Body: BootstrapTokenView{ID: t.ID, Token: plain, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt}}, nil
}

func (h *Onboarding) listTokens(ctx context.Context, _ *struct{}) (*bootstrapListOutput, error) {
	ts, err := h.Service.BootstrapTokens(ctx, httpapi.Subject(ctx))
	if err != nil {
		return nil, err
	}
	out := &bootstrapListOutput{Body: BootstrapTokenList{Items: make([]BootstrapTokenView, 0, len(ts))}}
	for _, t := range ts {
		out.Body.Items = append(out.Body.Items, BootstrapTokenView{ID: t.ID, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt})
	}
	return out, nil
}

func (h *Onboarding) revokeToken(ctx context.Context, in *bootstrapIDInput) (*struct{}, error) {
	return nil, h.Service.RevokeBootstrapToken(ctx, httpapi.Subject(ctx), in.ID)
}

func (h *Onboarding) registerAgent(ctx context.Context, in *registerAgentInput) (*registerAgentOutput, error) {
	if err := requireJSON(in.Body.Card, "card"); err != nil {
		return nil, err
	}
	reg, err := h.Service.Register(ctx, strings.TrimSpace(in.Token), registry.AgentRegistration{Card: in.Body.Card,
		PublicKey: in.Body.PublicKey, Proof: in.Body.Proof, CSR: in.Body.CSR})
	if err != nil {
		return nil, err
	}
	a := reg.Agent
	return &registerAgentOutput{Body: RegisteredAgentView{AgentID: a.ID, DID: a.DID, SPIFFEID: a.SPIFFEID, ClientID: a.ClientID,
		ClientSecret: reg.ClientSecret, SVID: reg.SVID, Grant: reg.Grant.String(), GrantReason: reg.GrantReason, Card: h.Cards.view(reg.Card)}}, nil
}

// errTwoClientAuths is a token request that authenticates the client twice (RFC 6749 §2.3:
// one method per request).
var errTwoClientAuths = apperr.New(apperr.BadRequest, "INVALID_REQUEST",
	"send the client credentials either in HTTP Basic authentication or in the body, not both")

// token is the client-credentials grant; it takes the RFC 6749 form encoding or JSON, and
// client credentials in the body or in HTTP Basic authentication (RFC 6749 §2.3.1), not both.
func (h *Onboarding) token(ctx context.Context, in *agentTokenInput) (*agentTokenOutput, error) {
	var grant, id, secret string
	var audience []string
	if strings.HasPrefix(strings.ToLower(in.ContentType), "application/json") {
		var b struct {
			GrantType    string          `json:"grant_type"`
			ClientID     string          `json:"client_id"`
			ClientSecret string          `json:"client_secret"`
			Audience     json.RawMessage `json:"audience"`
		}
		if err := json.Unmarshal(in.RawBody, &b); err != nil {
			return nil, apperr.New(apperr.BadRequest, "MALFORMED_JSON", "the body is not a JSON object of grant_type, client_id, client_secret and audience")
		}
		grant, id, secret = b.GrantType, b.ClientID, b.ClientSecret
		if len(b.Audience) > 0 && string(b.Audience) != "null" {
			var one string
			if json.Unmarshal(b.Audience, &one) == nil {
				audience = strings.Fields(one)
			} else if json.Unmarshal(b.Audience, &audience) != nil {
				return nil, apperr.New(apperr.Invalid, "INVALID_AUDIENCE", "audience is a string or a list of strings").With("field", "audience")
			}
		}
	} else {
		v, err := url.ParseQuery(string(in.RawBody))
		if err != nil {
			return nil, apperr.New(apperr.BadRequest, "INVALID_REQUEST", "the body is not application/x-www-form-urlencoded")
		}
		grant, id, secret = v.Get("grant_type"), v.Get("client_id"), v.Get("client_secret")
		for _, a := range v["audience"] {
			audience = append(audience, strings.Fields(a)...)
		}
	}
	basicID, basicSecret, basic, err := httpapi.ClientBasicAuth(in.Authorization)
	switch {
	case err != nil:
		return nil, err
	case basic && (id != "" || secret != ""):
		return nil, errTwoClientAuths
	case basic:
		id, secret = basicID, basicSecret
	}
	if grant != "client_credentials" {
		return nil, apperr.New(apperr.BadRequest, "UNSUPPORTED_GRANT_TYPE", "grant_type must be client_credentials").With("field", "grant_type")
	}
	tok, exp, err := h.Service.AgentToken(ctx, id, secret, audience...)
	if basic && apperr.KindOf(err) == apperr.Unauthenticated {
		// RFC 6749 §5.2: a client that authenticated with Basic is challenged with Basic.
		ae, _ := apperr.As(err)
		err = ae.With("auth_scheme", "Basic")
	}
	if err != nil {
		return nil, err
	}
	return &agentTokenOutput{CacheControl: "no-store", Body: AgentTokenBody{AccessToken: tok, TokenType: "Bearer",
		ExpiresIn: int(time.Until(exp).Round(time.Second).Seconds())}}, nil
}

func (h *Onboarding) me(ctx context.Context, _ *struct{}) (*agentOutput, error) {
	a, err := h.Service.Me(ctx, httpapi.Subject(ctx))
	if err != nil {
		return nil, err
	}
	return &agentOutput{Body: agentView(a)}, nil
}

// HeartbeatView is the answer to a heartbeat: the agent, and the heartbeat rule.
type HeartbeatView struct {
	AgentView
	HeartbeatIntervalSeconds float64 `json:"heartbeat_interval_seconds,omitempty" doc:"How often the registry expects a heartbeat; an agent silent for three intervals is marked inactive in discovery until its next heartbeat"`
	InactiveAfterSeconds     float64 `json:"inactive_after_seconds,omitempty" doc:"Silence after which the agent is marked inactive (three heartbeat intervals)"`
}

type heartbeatOutput struct{ Body HeartbeatView }

func (h *Onboarding) heartbeat(ctx context.Context, _ *struct{}) (*heartbeatOutput, error) {
	a, err := h.Service.Heartbeat(ctx, httpapi.Subject(ctx))
	if err != nil {
		return nil, err
	}
	return &heartbeatOutput{Body: HeartbeatView{AgentView: agentView(a), HeartbeatIntervalSeconds: h.HeartbeatInterval.Seconds(),
		InactiveAfterSeconds: (registry.StaleIntervals * h.HeartbeatInterval).Seconds()}}, nil
}

type secretOutput struct {
	Body struct {
		ClientSecret string `json:"client_secret" doc:"Shown only now"`
	}
}

func (h *Onboarding) rotateSecret(ctx context.Context, _ *struct{}) (*secretOutput, error) {
	secret, err := h.Service.RotateSecret(ctx, httpapi.Subject(ctx))
	if err != nil {
		return nil, err
	}
	out := &secretOutput{}
	out.Body.ClientSecret = secret
	return out, nil
}

type statusInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Status string `json:"status" doc:"active, suspended or revoked (final). Lifting a suspension (active) needs the authority that placed it or a higher one: an owner cannot lift an admin's (403 AGENT_SUSPENDED_BY_ADMIN)."`
	}
}

func (h *Onboarding) setStatus(ctx context.Context, in *statusInput) (*agentOutput, error) {
	a, err := h.Service.SetAgentStatus(ctx, httpapi.Subject(ctx), in.ID, in.Body.Status)
	if err != nil {
		return nil, err
	}
	return &agentOutput{Body: agentView(a)}, nil
}

type agentIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

type listAgentsInput struct {
	httpapi.PageParams
}

// AgentPage is a page of the developer's agents.
type AgentPage struct {
	Items      []AgentView `json:"items"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

type agentPageOutput struct{ Body AgentPage }

func (h *Onboarding) listAgents(ctx context.Context, in *listAgentsInput) (*agentPageOutput, error) {
	page, next, err := httpapi.PageByID(in.Cursor, in.Limit, func(after string, n int) ([]registry.Agent, error) {
		return h.Service.Agents(ctx, httpapi.Subject(ctx), after, n)
	}, func(a registry.Agent) string { return a.ID })
	if err != nil {
		return nil, err
	}
	body := AgentPage{Items: make([]AgentView, 0, len(page)), NextCursor: next}
	for i := range page {
		body.Items = append(body.Items, agentView(&page[i]))
	}
	return &agentPageOutput{Body: body}, nil
}

func (h *Onboarding) getAgent(ctx context.Context, in *agentIDInput) (*agentOutput, error) {
	a, err := h.Service.Agent(ctx, httpapi.Subject(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &agentOutput{Body: agentView(a)}, nil
}

// AgentBalanceView is an agent's wallet as its developer reads it (amounts in AVT, decimal
// strings).
type AgentBalanceView struct {
	Account   string `json:"account" example:"agt_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C"`
	Liquid    string `json:"liquid" example:"100"`
	Locked    string `json:"locked" example:"0"`
	Staked    string `json:"staked" example:"0"`
	Unbonding string `json:"unbonding" example:"0"`
	Total     string `json:"total" example:"100"`
}

type agentBalanceOutput struct{ Body AgentBalanceView }

type agentHistoryInput struct {
	ID string `path:"id" maxLength:"64"`
	httpapi.PageParams
}

type agentHistoryOutput struct{ Body teghttp.TransferPage }

func (h *Onboarding) agentHistory(ctx context.Context, in *agentHistoryInput) (*agentHistoryOutput, error) {
	var before uint64
	if err := httpapi.DecodeCursor(in.Cursor, &before); err != nil {
		return nil, err
	}
	items, err := h.Service.AgentHistory(ctx, httpapi.Subject(ctx), in.ID, before, in.Limit+1)
	if err != nil {
		return nil, err
	}
	return &agentHistoryOutput{Body: teghttp.TransferPageOf(items, in.Limit)}, nil
}

func (h *Onboarding) agentBalance(ctx context.Context, in *agentIDInput) (*agentBalanceOutput, error) {
	a, b, err := h.Service.AgentBalance(ctx, httpapi.Subject(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return &agentBalanceOutput{Body: AgentBalanceView{Account: a.ID, Liquid: b.Liquid.String(), Locked: b.Locked.String(),
		Staked: b.Staked.String(), Unbonding: b.Unbonding.String(), Total: b.Total.String()}}, nil
}
