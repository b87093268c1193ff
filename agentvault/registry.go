package agentvault

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/agentcard"
)

// Registry is a typed client of a registry's agent-facing API: discovery and cards, the
// bootstrap registration, and the agent's own routes (me, heartbeat, secret
// rotation). Its credential is the caller's: a developer's (BearerToken of an access token or
// avreg_ API key) to register, an agent's (*TokenSource) for Me, Heartbeat and RotateSecret;
// discovery needs none. Safe for concurrent use.
type Registry struct {
	api  apiClient
	opts []Option
}

// NewRegistry returns a client of the registry at baseURL acting with cred (may be nil for
// discovery only).
func NewRegistry(baseURL string, cred Credential, opts ...Option) *Registry {
	s := newSettings(opts)
	return &Registry{api: newAPIClient(baseURL, cred, s.hc), opts: opts}
}

// BaseURL is the registry's base URL.
func (r *Registry) BaseURL() string { return r.api.base }

// WithCredential returns a client of the same registry acting with cred.
func (r *Registry) WithCredential(cred Credential) *Registry {
	cp := *r
	cp.api.cred = cred
	return &cp
}

// Card is an agent card as the registry lists it: the card and what the registry keeps
// around it.
type Card struct {
	ID              string     `json:"id"`
	URN             string     `json:"urn"`
	OwnerID         string     `json:"owner_id"`
	Name            string     `json:"name"`
	Description     string     `json:"description"`
	Status          string     `json:"status"`
	Version         int        `json:"version"`
	SourceVersion   string     `json:"source_version"`
	SignatureStatus string     `json:"signature_status"`
	Tags            []string   `json:"tags"`
	Skills          []string   `json:"skills"`
	Capabilities    []string   `json:"capabilities"`
	AgentDID        string     `json:"agent_did,omitempty"`
	SPIFFEID        string     `json:"spiffe_id,omitempty"`
	OriginRegistry  string     `json:"origin_registry,omitempty"`
	CardURL         string     `json:"card_url"`
	Score           *float64   `json:"score,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	LastHeartbeatAt *time.Time `json:"last_heartbeat_at,omitempty"`
	// CardData is the A2A v1.0 card as JSON; Card is it decoded.
	CardData json.RawMessage  `json:"card_data"`
	Card     *a2apb.AgentCard `json:"-"`
}

func (c *Card) decode() error {
	if len(c.CardData) == 0 {
		return nil
	}
	card, err := decodeCard(c.CardData)
	if err != nil {
		return fmt.Errorf("agentvault: card %s: %w", c.ID, err)
	}
	c.Card = card
	return nil
}

// decodeCard reads an A2A card: strictly with agentcard.Parse (which also converts v0.3
// cards), else — a newer card with fields this version does not know — leniently, as long as
// it names at least one interface.
func decodeCard(data []byte) (*a2apb.AgentCard, error) {
	p, err := agentcard.Parse(context.Background(), data, nil)
	if err == nil {
		return p.Card, nil
	}
	card := &a2apb.AgentCard{}
	if lerr := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, card); lerr == nil && len(card.GetSupportedInterfaces()) > 0 {
		return card, nil
	}
	return nil, err
}

// Filters narrow a discovery query; they combine with AND.
type Filters struct {
	Capability []string // streaming, push_notifications, extended_agent_card, or an extension URI
	Skill      []string // skill ids
	Tag        []string
	Status     []string // default: active
	OwnedOnly  bool     // only the caller's cards
	Limit      int      // page size (registry default 50, max 500)
	Cursor     string   // from CardPage.NextCursor
}

// CardPage is a page of discovery results.
type CardPage struct {
	Items      []Card `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Discover searches the registry's cards (GET /api/v1/agent-cards): query is free text (every
// word must match, ranked by relevance), f the filters.
func (r *Registry) Discover(ctx context.Context, query string, f Filters) (*CardPage, error) {
	q := url.Values{}
	if query != "" {
		q.Set("q", query)
	}
	for k, vs := range map[string][]string{"capability": f.Capability, "skill": f.Skill, "tag": f.Tag, "status": f.Status} {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	if f.OwnedOnly {
		q.Set("owned_only", "true")
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Cursor != "" {
		q.Set("cursor", f.Cursor)
	}
	page := &CardPage{}
	if _, err := r.api.do(ctx, http.MethodGet, "/api/v1/agent-cards", q, nil, f.OwnedOnly, nil, page); err != nil {
		return nil, err
	}
	for i := range page.Items {
		if err := page.Items[i].decode(); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// GetCard returns the card with registry id id (GET /api/v1/agent-cards/{id}).
func (r *Registry) GetCard(ctx context.Context, id string) (*Card, error) {
	c := &Card{}
	if _, err := r.api.do(ctx, http.MethodGet, "/api/v1/agent-cards/"+url.PathEscape(id), nil, nil, false, nil, c); err != nil {
		return nil, err
	}
	return c, c.decode()
}

// CardDocument returns the public card document of agent id, as the registry serves it to A2A
// clients (GET /agents/{id}/.well-known/agent-card.json).
func (r *Registry) CardDocument(ctx context.Context, id string) (*a2apb.AgentCard, error) {
	var raw json.RawMessage
	if _, err := r.api.do(ctx, http.MethodGet, "/agents/"+url.PathEscape(id)+"/.well-known/agent-card.json", nil, nil, false, nil, &raw); err != nil {
		return nil, err
	}
	card, err := decodeCard(raw)
	if err != nil {
		return nil, fmt.Errorf("agentvault: card document of %s: %w", id, err)
	}
	return card, nil
}

// RegisterOptions adjust Register.
type RegisterOptions struct {
	// Identity is the agent's key (its ID and SPIFFE ID are filled in); nil makes a new one.
	Identity *Identity
	// SVID asks for an X.509-SVID along with the registration (a new P-256 key and a CSR).
	SVID bool
	// BootstrapToken is a bootstrap token (bst_…) a developer made elsewhere ('sovereign
	// bootstrap-token create'); with it the client needs no credential of its own. Empty: the
	// client's developer credential asks for one.
	BootstrapToken string
}

// Registration is what Register returns: the agent's identity, its OAuth client credentials
// (the secret is shown only now: keep it, e.g. with Save), its SVID when asked for, and its
// card as registered.
type Registration struct {
	Identity     *Identity
	ClientID     string
	ClientSecret string
	SVID         *x509svid.SVID
	Card         *Card
	// Grant is the starting grant the wallet received (AVT); GrantReason says why it is "0":
	// NO_STARTING_GRANT (the registry gives none) or GRANT_DAILY_CAP_REACHED (the developer's
	// agents received the daily cap in the last 24 hours).
	Grant       string
	GrantReason string
}

// Save keeps the registration in ks: the identity (key, SPIFFE ID) and the client
// credentials, under the agent's id.
func (g *Registration) Save(ctx context.Context, ks KeyStore) error {
	if err := g.Identity.Save(ctx, ks); err != nil {
		return err
	}
	if err := ks.Set(ctx, g.Identity.ID, FieldClientID, g.ClientID); err != nil {
		return err
	}
	return ks.Set(ctx, g.Identity.ID, FieldClientSecret, g.ClientSecret)
}

// TokenSource is a token source for the registered agent at registryURL.
func (g *Registration) TokenSource(registryURL string, opts ...Option) *TokenSource {
	return NewTokenSource(registryURL, g.ClientID, g.ClientSecret, opts...)
}

// Register runs the bootstrap registration for the card (A2A JSON) with the
// client's credential, which must be a verified developer's: it asks for a single-use bootstrap
// token, signs it with the agent's Ed25519 key as proof of possession, and registers the card
// with the public key (and a CSR when opts.SVID). The registry gives the agent its id, DID,
// SPIFFE ID, client credentials and a funded wallet.
func (r *Registry) Register(ctx context.Context, card []byte, opts RegisterOptions) (*Registration, error) {
	if !json.Valid(card) {
		return nil, errors.New("agentvault: the card is not JSON")
	}
	ident := opts.Identity
	if ident == nil {
		var err error
		if ident, err = NewIdentity(); err != nil {
			return nil, err
		}
	}
	var bt struct {
		Token string `json:"token"`
	}
	bt.Token = opts.BootstrapToken
	if bt.Token == "" {
		if _, err := r.api.do(ctx, http.MethodPost, "/api/v1/onboard/bootstrap/request-token", nil, nil, true, nil, &bt); err != nil {
			return nil, fmt.Errorf("agentvault: bootstrap token: %w", err)
		}
	}
	body := map[string]any{"card": json.RawMessage(card), "public_key": ident.PublicJWK(),
		"proof": base64.RawURLEncoding.EncodeToString(ident.Sign([]byte(bt.Token)))}
	var csrKey *ecdsa.PrivateKey
	if opts.SVID {
		key, csr, err := newSVIDRequest(spiffeid.ID{})
		if err != nil {
			return nil, err
		}
		body["csr"], csrKey = csr, key
	}
	var out struct {
		AgentID      string `json:"agent_id"`
		DID          string `json:"did"`
		SPIFFEID     string `json:"spiffe_id"`
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		SVID         string `json:"svid"`
		Grant        string `json:"grant"`
		GrantReason  string `json:"grant_reason"`
		Card         Card   `json:"card"`
	}
	hdr := http.Header{"Bootstrap-Token": {bt.Token}}
	if _, err := r.api.do(ctx, http.MethodPost, "/api/v1/onboard/register", nil, hdr, false, body, &out); err != nil {
		return nil, fmt.Errorf("agentvault: register: %w", err)
	}
	if out.DID != ident.DID {
		return nil, fmt.Errorf("agentvault: the registry gave the DID %s, but the key's is %s", out.DID, ident.DID)
	}
	got := *ident
	got.ID, got.SPIFFEID = out.AgentID, out.SPIFFEID
	reg := &Registration{Identity: &got, ClientID: out.ClientID, ClientSecret: out.ClientSecret, Card: &out.Card,
		Grant: out.Grant, GrantReason: out.GrantReason}
	if err := reg.Card.decode(); err != nil {
		return nil, err
	}
	if opts.SVID && out.SVID != "" {
		svid, err := parseSVID(out.SVID, csrKey)
		if err != nil {
			return nil, err
		}
		reg.SVID = svid
	}
	return reg, nil
}

// AgentInfo is a registered agent as it sees itself (GET /api/v1/agents/me).
type AgentInfo struct {
	ID              string     `json:"id"`
	DeveloperID     string     `json:"developer_id"`
	DID             string     `json:"did"`
	SPIFFEID        string     `json:"spiffe_id"`
	ClientID        string     `json:"client_id"`
	Status          string     `json:"status"`
	CreatedAt       time.Time  `json:"created_at"`
	LastHeartbeatAt *time.Time `json:"last_heartbeat_at,omitempty"`
	// HeartbeatIntervalSeconds and InactiveAfterSeconds are the registry's heartbeat rule, in
	// answers to Heartbeat: it expects a heartbeat every HeartbeatIntervalSeconds and marks an
	// agent silent for InactiveAfterSeconds inactive until its next heartbeat (0: not said).
	HeartbeatIntervalSeconds float64 `json:"heartbeat_interval_seconds,omitempty"`
	InactiveAfterSeconds     float64 `json:"inactive_after_seconds,omitempty"`
}

// Me returns the calling agent.
func (r *Registry) Me(ctx context.Context) (*AgentInfo, error) {
	a := &AgentInfo{}
	if _, err := r.api.do(ctx, http.MethodGet, "/api/v1/agents/me", nil, nil, true, nil, a); err != nil {
		return nil, err
	}
	return a, nil
}

// Heartbeat tells the registry the calling agent is alive; agents silent for three of the
// registry's heartbeat intervals are marked inactive in discovery, and active again at their
// next heartbeat. Heartbeater sends them on a schedule.
func (r *Registry) Heartbeat(ctx context.Context) (*AgentInfo, error) {
	a := &AgentInfo{}
	if _, err := r.api.do(ctx, http.MethodPost, "/api/v1/agents/me/heartbeat", nil, nil, true, nil, a); err != nil {
		return nil, err
	}
	return a, nil
}

// RotateSecret gives the calling agent a new client secret (returned only now); the old one
// stops working at once. Pass it to TokenSource.SetSecret and keep it in the key store.
func (r *Registry) RotateSecret(ctx context.Context) (string, error) {
	var out struct {
		ClientSecret string `json:"client_secret"`
	}
	if _, err := r.api.do(ctx, http.MethodPost, "/api/v1/agents/me/secret", nil, nil, true, nil, &out); err != nil {
		return "", err
	}
	return out.ClientSecret, nil
}
