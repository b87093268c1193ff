package registryhttp

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/agentcard"
	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/reputation"
)

// Cards serves agent cards and discovery under /api/v1/agent-cards, the public card documents
// under /agents/{id}/.well-known/agent-card.json, and card validation.
type Cards struct {
	Service *registry.Cards
	// BaseURL is the registry's public base URL (card_url in views).
	BaseURL string
	// Reputation signs agents' reputation for their card documents (nil: documents are served
	// as stored).
	Reputation interface {
		PortableOf(ctx context.Context, agent string) (reputation.PortableReputation, error)
	}
	// Federation, when set, serves include_federated: the live query of the federation peers.
	Federation *federation.Fanout
}

// CardView is an agent card as the API shows it: the card itself (card_data, A2A v1.0 ProtoJSON)
// and what the registry keeps around it.
type CardView struct {
	ID              string                      `json:"id" example:"agt_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C"`
	URN             string                      `json:"urn" example:"urn:air:registry.example.com:agent:recipe-agent"`
	OwnerID         string                      `json:"owner_id"`
	Name            string                      `json:"name"`
	Description     string                      `json:"description"`
	Status          string                      `json:"status" enum:"active,inactive,suspended,revoked"`
	Version         int                         `json:"version" doc:"Increments on every change"`
	SourceVersion   string                      `json:"source_version" doc:"A2A version the card was published in (0.3 cards are converted)" enum:"1.0,0.3"`
	SignatureStatus string                      `json:"signature_status" enum:"unsigned,verified,invalid"`
	Signatures      []agentcard.SignatureResult `json:"signatures,omitempty"`
	SignedOnly      bool                        `json:"signed_only"`
	Tags            []string                    `json:"tags"`
	Skills          []string                    `json:"skills" doc:"Skill ids"`
	Capabilities    []string                    `json:"capabilities"`
	AgentDID        string                      `json:"agent_did,omitempty"`
	SPIFFEID        string                      `json:"spiffe_id,omitempty"`
	OriginRegistry  string                      `json:"origin_registry,omitempty"`
	CardURL         string                      `json:"card_url" doc:"Where the card document is served"`
	Score           *int                        `json:"score,omitempty" doc:"Relevance from 0 to 100 (text queries): 100 is every word of the query matched as strongly as the registry allows" minimum:"0" maximum:"100"`
	Reputation      *registry.Standing          `json:"reputation,omitempty" doc:"The agent's reputation score (0–1000) and tier, in discovery results of a registry running with the ledger"`
	CreatedAt       time.Time                   `json:"created_at"`
	UpdatedAt       time.Time                   `json:"updated_at"`
	LastHeartbeatAt *time.Time                  `json:"last_heartbeat_at,omitempty"`
	CardData        json.RawMessage             `json:"card_data" doc:"The A2A v1.0 AgentCard"`
}

func (h *Cards) view(c *registry.AgentCard) CardView {
	nz := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	v := CardView{ID: c.ID, URN: h.Service.URN(c), OwnerID: c.OwnerID, Name: c.Name, Description: c.Description,
		Status: c.Status, Version: c.Version, SourceVersion: c.SourceVersion, SignatureStatus: c.SignatureStatus,
		Signatures: c.Signatures, SignedOnly: c.SignedOnly, Tags: nz(c.Tags), Skills: nz(c.Skills), Capabilities: nz(c.Capabilities),
		AgentDID: c.AgentDID, SPIFFEID: c.SPIFFEID, OriginRegistry: c.Origin, CardURL: h.CardURL(c.ID),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt, LastHeartbeatAt: c.LastHeartbeatAt, CardData: c.JSON}
	if p, ok := originReputation(c); ok {
		v.Reputation = &registry.Standing{Score: p.Score, Tier: p.Tier}
	}
	return v
}

// CardURL is where the card document of id is served.
func (h *Cards) CardURL(id string) string {
	return strings.TrimRight(h.BaseURL, "/") + "/agents/" + id + "/.well-known/agent-card.json"
}

type cardBody struct {
	CardData   json.RawMessage `json:"card_data" doc:"The A2A agent card (v1.0, or v0.3 to be converted)"`
	SignedOnly bool            `json:"signed_only,omitempty" doc:"Refuse the card unless one of its JWS signatures verifies"`
	Status     string          `json:"status,omitempty" enum:"active,inactive,suspended,revoked" doc:"Default: active (create), unchanged (update)"`
}

// requireJSON refuses a missing (absent or null) JSON field.
func requireJSON(v json.RawMessage, field string) error {
	if len(v) == 0 || string(v) == "null" {
		return apperr.New(apperr.Invalid, "MISSING_FIELD", field+" is required").With("field", field)
	}
	return nil
}

func (b *cardBody) input() (registry.CardInput, error) {
	if err := requireJSON(b.CardData, "card_data"); err != nil {
		return registry.CardInput{}, err
	}
	return registry.CardInput{JSON: b.CardData, SignedOnly: b.SignedOnly, Status: b.Status}, nil
}

type createCardInput struct {
	Body cardBody
}

type updateCardInput struct {
	ID      string `path:"id" maxLength:"64"`
	IfMatch string `header:"If-Match" doc:"The card's ETag or version number: refuse the update if the card changed"`
	Body    cardBody
}

type cardIDInput struct {
	ID          string `path:"id" maxLength:"64"`
	IfNoneMatch string `header:"If-None-Match"`
}

type cardOutput struct {
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     CardView
}

type historyInput struct {
	ID string `path:"id" maxLength:"64"`
	httpapi.PageParams
}

// CardVersionView is one version of a card.
type CardVersionView struct {
	Version   int             `json:"version"`
	Change    string          `json:"change" enum:"created,updated,deleted"`
	ChangedBy string          `json:"changed_by"`
	CreatedAt time.Time       `json:"created_at"`
	CardData  json.RawMessage `json:"card_data"`
}

// CardHistoryPage is a page of a card's versions, oldest first.
type CardHistoryPage struct {
	Items      []CardVersionView `json:"items"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

type historyOutput struct{ Body CardHistoryPage }

// discoveryParams are the query parameters of discovery; any other parameter is refused.
var discoveryParams = []string{"q", "capability", "skill", "tag", "status", "owned_only", "limit", "cursor", "fields", "min_reputation", "tier", "sort", "include_federated"}

type searchInput struct {
	Q          string   `query:"q" maxLength:"1024" doc:"Free text; every word must match; ranked by relevance (BM25)"`
	Capability []string `query:"capability" maxItems:"16" doc:"streaming, push_notifications, extended_agent_card, or an extension URI"`
	Skill      []string `query:"skill" maxItems:"16" doc:"Skill id"`
	Tag        []string `query:"tag" maxItems:"16"`
	Status     []string `query:"status" maxItems:"4" doc:"Default: active"`
	OwnedOnly  bool     `query:"owned_only" doc:"Only your cards (needs credentials)"`
	Fields     []string `query:"fields" maxItems:"32" doc:"Return only these fields of each item (id is always returned)"`
	// The reputation filters and sort (a registry running with the ledger).
	MinReputation string `query:"min_reputation" maxLength:"8" doc:"Only agents scoring at least this (0–1000)"`
	Tier          string `query:"tier" maxLength:"64" doc:"Only agents of this tier (Untrusted, New, Trusted, Verified, Elite by default)"`
	Sort          string `query:"sort" enum:"relevance,reputation" doc:"reputation: the 500 best matches ordered by score, best first"`
	// IncludeFederated asks the ACTIVE federation peers too (one merged page, no cursor).
	IncludeFederated bool   `query:"include_federated" doc:"Also search the federation peers live (copies of peers' cards kept by sync are found without it, tagged with their origin_registry): one merged ranking, each item tagged with its origin_registry, and a peers section saying who answered, timed out, failed or was skipped"`
	IfNoneMatch      string `header:"If-None-Match"`
	httpapi.PageParams
	rawQuery url.Values
}

// Resolve keeps the raw query so that unknown parameters can be refused.
func (in *searchInput) Resolve(hctx huma.Context) []error {
	u := hctx.URL()
	in.rawQuery = u.Query()
	return nil
}

// CardPage is a page of discovery results.
type CardPage struct {
	Items      []CardView `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
	// DidYouMean is the query with misspelled words corrected, when some were read as close
	// words (or nothing matched them).
	DidYouMean string `json:"did_you_mean,omitempty" doc:"The query with misspelled words corrected, when some were"`
	// Peers says, with include_federated, what each federation peer did with the query.
	Peers  []federation.PeerOutcome `json:"peers,omitempty" doc:"With include_federated: each peer answered, timed_out, error or skipped"`
	fields []string
}

// MarshalJSON applies the fields selection.
func (p CardPage) MarshalJSON() ([]byte, error) {
	type plain struct {
		Items      any                       `json:"items"`
		NextCursor string                    `json:"next_cursor,omitempty"`
		DidYouMean string                    `json:"did_you_mean,omitempty"`
		Peers      *[]federation.PeerOutcome `json:"peers,omitempty"`
	}
	var peers *[]federation.PeerOutcome
	if p.Peers != nil {
		peers = &p.Peers
	}
	if len(p.fields) == 0 {
		return json.Marshal(plain{p.Items, p.NextCursor, p.DidYouMean, peers})
	}
	items := make([]map[string]json.RawMessage, len(p.Items))
	for i, v := range p.Items {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		var all map[string]json.RawMessage
		if err := json.Unmarshal(b, &all); err != nil {
			return nil, err
		}
		items[i] = map[string]json.RawMessage{"id": all["id"]}
		for _, f := range p.fields {
			if v, ok := all[f]; ok {
				items[i][f] = v
			}
		}
	}
	return json.Marshal(plain{items, p.NextCursor, p.DidYouMean, peers})
}

type searchOutput struct {
	ETag string `header:"ETag"`
	Body CardPage
}

type validateInput struct {
	Body struct {
		CardData json.RawMessage `json:"card_data" doc:"The A2A agent card to check"`
	}
}

// ValidationResult is the answer of validate-card: valid with the normalized v1.0 card, or
// the first problem found.
type ValidationResult struct {
	IsValid       bool                        `json:"is_valid"`
	Code          string                      `json:"code,omitempty" example:"DUPLICATE_SKILL_ID"`
	Detail        string                      `json:"detail,omitempty"`
	Field         string                      `json:"field,omitempty" example:"skills[1].id"`
	SourceVersion string                      `json:"source_version,omitempty"`
	Signatures    []agentcard.SignatureResult `json:"signatures,omitempty"`
	CardData      json.RawMessage             `json:"validated_card_data,omitempty"`
}

type validateOutput struct{ Body ValidationResult }

type wellKnownOutput struct {
	ContentType  string `header:"Content-Type"`
	ETag         string `header:"ETag"`
	CacheControl string `header:"Cache-Control"`
	// Reputation is the agent's portable reputation (a compact JWS), on every document, signed
	// cards included.
	Reputation string `header:"Sovereign-Reputation"`
	Body       []byte
}

// operation is a route of tag; auth routes need credentials.
func operation(tag, id, method, path, summary string, status int, auth bool) huma.Operation {
	op := huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{tag}, DefaultStatus: status}
	if auth {
		op.Security = httpapi.Authenticated
	}
	return op
}

func cardOp(id, method, path, summary string, status int, auth bool) huma.Operation {
	op := operation("agent-cards", id, method, path, summary, status, auth)
	op.MaxBodyBytes = agentcard.MaxSize + 64<<10
	return op
}

// Register adds the card, discovery and validation routes to api.
func (h *Cards) Register(api huma.API) {
	httpapi.Register(api, cardOp("create-agent-card", http.MethodPost, "/api/v1/agent-cards", "Publish an agent card", http.StatusCreated, true), h.create)
	httpapi.Register(api, cardOp("search-agent-cards", http.MethodGet, "/api/v1/agent-cards", "Discover agent cards", http.StatusOK, false), h.search)
	httpapi.Register(api, cardOp("get-agent-card", http.MethodGet, "/api/v1/agent-cards/{id}", "One agent card", http.StatusOK, false), h.get)
	httpapi.Register(api, cardOp("update-agent-card", http.MethodPut, "/api/v1/agent-cards/{id}", "Replace an agent card (owner)", http.StatusOK, true), h.update)
	httpapi.Register(api, cardOp("delete-agent-card", http.MethodDelete, "/api/v1/agent-cards/{id}", "Withdraw an agent card (owner; soft)", http.StatusNoContent, true), h.delete)
	httpapi.Register(api, cardOp("agent-card-history", http.MethodGet, "/api/v1/agent-cards/{id}/history", "Versions of an agent card", http.StatusOK, false), h.history)
	httpapi.Register(api, cardOp("validate-card", http.MethodPost, "/api/v1/utils/validate-card", "Check an agent card without publishing it", http.StatusOK, false), h.validate)
	wk := cardOp("agent-card-document", http.MethodGet, "/agents/{id}/.well-known/agent-card.json", "The agent card document (A2A v1.0)", http.StatusOK, false)
	wk.Tags = []string{"agents"}
	httpapi.Register(api, wk, h.wellKnown)
}

func (h *Cards) create(ctx context.Context, in *createCardInput) (*cardOutput, error) {
	ci, err := in.Body.input()
	if err != nil {
		return nil, err
	}
	c, err := h.Service.Create(ctx, httpapi.Subject(ctx), ci)
	if err != nil {
		return nil, err
	}
	return &cardOutput{ETag: c.ETag, Location: "/api/v1/agent-cards/" + c.ID, Body: h.view(c)}, nil
}

func (h *Cards) get(ctx context.Context, in *cardIDInput) (*cardOutput, error) {
	c, err := h.Service.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if httpapi.Matches(in.IfNoneMatch, c.ETag) {
		return nil, httpapi.NotModified(c.ETag)
	}
	return &cardOutput{ETag: c.ETag, Body: h.view(c)}, nil
}

func (h *Cards) update(ctx context.Context, in *updateCardInput) (*cardOutput, error) {
	ci, err := in.Body.input()
	if err != nil {
		return nil, err
	}
	ifVersion := 0
	if m := strings.TrimSpace(in.IfMatch); m != "" {
		if n, err := strconv.Atoi(m); err == nil && n > 0 {
			ifVersion = n
		} else {
			cur, err := h.Service.Get(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			if !httpapi.Matches(m, cur.ETag) {
				return nil, registry.ErrCardVersionConflict.With("current_version", cur.Version)
			}
			ifVersion = cur.Version
		}
	}
	c, err := h.Service.Update(ctx, httpapi.Subject(ctx), in.ID, ci, ifVersion)
	if err != nil {
		return nil, err
	}
	return &cardOutput{ETag: c.ETag, Body: h.view(c)}, nil
}

func (h *Cards) delete(ctx context.Context, in *cardIDInput) (*struct{}, error) {
	return nil, h.Service.Delete(ctx, httpapi.Subject(ctx), in.ID)
}

func (h *Cards) history(ctx context.Context, in *historyInput) (*historyOutput, error) {
	after := 0
	if err := httpapi.DecodeCursor(in.Cursor, &after); err != nil {
		return nil, err
	}
	vs, err := h.Service.History(ctx, in.ID, after, in.Limit+1)
	if err != nil {
		return nil, err
	}
	page, next := httpapi.Paginate(vs, in.Limit, func(v registry.CardVersion) any { return v.Version })
	body := CardHistoryPage{Items: make([]CardVersionView, 0, len(page)), NextCursor: next}
	for _, v := range page {
		body.Items = append(body.Items, CardVersionView{Version: v.Version, Change: v.Change, ChangedBy: v.ChangedBy, CreatedAt: v.CreatedAt, CardData: v.JSON})
	}
	return &historyOutput{Body: body}, nil
}

// searchCursor is the position of a discovery page, bound to its query.
type searchCursor struct {
	Q     string  `json:"q"`
	Score float64 `json:"s,omitempty"`
	ID    string  `json:"i"`
	// Offset is the position in a reputation-sorted window.
	Offset int `json:"o,omitempty"`
}

// queryKey identifies a discovery query (without its page) so that a cursor cannot continue
// another query.
func queryKey(q *discovery.Query, f registry.ReputationFilter) string {
	b, _ := json.Marshal([]any{discovery.QueryTokens(q.Text), q.Tags, q.Skills, q.Capabilities, q.Statuses, q.OwnerID, f.MinScore, f.Tier, f.Sort})
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:9])
}

var cardFields = func() []string {
	b, _ := json.Marshal(CardView{})
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	out := []string{"score", "reputation", "signatures", "agent_did", "spiffe_id", "origin_registry", "last_heartbeat_at"}
	for k := range m {
		out = append(out, k)
	}
	return out
}()

func (h *Cards) search(ctx context.Context, in *searchInput) (*searchOutput, error) {
	for k := range in.rawQuery {
		if !slices.Contains(discoveryParams, k) {
			return nil, apperr.Errorf(apperr.BadRequest, "UNKNOWN_FILTER", "unknown query parameter %q; discovery takes %s", k, strings.Join(discoveryParams, ", ")).With("field", k)
		}
	}
	if in.IncludeFederated {
		if err := h.checkFederated(in); err != nil {
			return nil, err
		}
	}
	var fields []string
	for _, f := range in.Fields {
		for _, f := range strings.Split(f, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			if !slices.Contains(cardFields, f) {
				return nil, apperr.Errorf(apperr.BadRequest, "UNKNOWN_FIELD", "fields: no field %q", f).With("field", "fields")
			}
			fields = append(fields, f)
		}
	}
	// Filters may repeat (tag=a&tag=b) or list values (tag=a,b): both mean all of them.
	multi := func(name string) []string {
		var out []string
		for _, v := range in.rawQuery[name] {
			for _, x := range strings.Split(v, ",") {
				if x = strings.TrimSpace(x); x != "" {
					out = append(out, x)
				}
			}
		}
		return out
	}
	q := discovery.Query{Text: in.Q, Tags: multi("tag"), Skills: multi("skill"), Capabilities: multi("capability"), Statuses: multi("status"), Limit: in.Limit}
	if in.OwnedOnly {
		q.OwnerID = httpapi.Subject(ctx).ID
	}
	if err := q.Normalize(); err != nil {
		return nil, err
	}
	var rf registry.ReputationFilter
	if in.MinReputation != "" {
		n, err := strconv.Atoi(in.MinReputation)
		if err != nil || n < 0 || n > 1000 {
			return nil, registry.ErrInvalidMinReputation.With("field", "min_reputation")
		}
		rf.MinScore = &n
	}
	rf.Tier, rf.Sort = in.Tier, in.Sort == "reputation"
	key := queryKey(&q, rf)
	offset := 0
	if in.Cursor != "" {
		var c searchCursor
		if err := httpapi.DecodeCursor(in.Cursor, &c); err != nil {
			return nil, err
		}
		if c.Q != key || (c.ID == "" && c.Offset == 0) {
			return nil, apperr.New(apperr.Invalid, "INVALID_CURSOR", "the cursor belongs to another query").With("field", "cursor")
		}
		if rf.Sort {
			offset = c.Offset
		} else {
			q.After = &discovery.Position{Score: c.Score, ID: c.ID}
		}
	}
	res, standings, nextOffset, err := h.Service.SearchReputation(ctx, httpapi.Subject(ctx), q, in.OwnedOnly, rf, offset)
	if err != nil {
		return nil, err
	}
	body := CardPage{Items: make([]CardView, 0, len(res.Cards)), DidYouMean: res.DidYouMean, fields: fields}
	ranked := len(discovery.QueryTokens(q.Text)) > 0
	for i, c := range res.Cards {
		v := h.view(c)
		if st, ok := standings[c.ID]; ok {
			v.Reputation = &st
		}
		if ranked {
			s := res.Relevance[i]
			v.Score = &s
		}
		body.Items = append(body.Items, v)
	}
	if in.IncludeFederated {
		if err := h.federate(ctx, &q, ranked, &body); err != nil {
			return nil, err
		}
	} else if nextOffset > 0 {
		body.NextCursor = httpapi.EncodeCursor(searchCursor{Q: key, Offset: nextOffset})
	} else if res.Next != nil {
		body.NextCursor = httpapi.EncodeCursor(searchCursor{Q: key, Score: res.Next.Score, ID: res.Next.ID})
	}
	if in.IncludeFederated {
		etag, err := federatedETag(in.IfNoneMatch, body)
		if err != nil {
			return nil, err
		}
		return &searchOutput{ETag: etag, Body: body}, nil
	}
	etag, err := httpapi.CheckETag(in.IfNoneMatch, body)
	if err != nil {
		return nil, err
	}
	return &searchOutput{ETag: etag, Body: body}, nil
}

func (h *Cards) validate(ctx context.Context, in *validateInput) (*validateOutput, error) {
	if err := requireJSON(in.Body.CardData, "card_data"); err != nil {
		return nil, err
	}
	p, err := h.Service.Validate(ctx, in.Body.CardData)
	if err != nil {
		ae, ok := apperr.As(err)
		if !ok || ae.Kind == apperr.Internal {
			return nil, err
		}
		field, _ := ae.Details["field"].(string)
		return &validateOutput{Body: ValidationResult{Code: ae.Code, Detail: ae.Message, Field: field}}, nil
	}
	js, err := agentcard.Marshal(p.Card)
	if err != nil {
		return nil, apperr.Internalf("marshal card: %w", err)
	}
	return &validateOutput{Body: ValidationResult{IsValid: true, SourceVersion: p.SourceVersion, Signatures: p.Signatures, CardData: js}}, nil
}

func (h *Cards) wellKnown(ctx context.Context, in *cardIDInput) (*wellKnownOutput, error) {
	c, err := h.Service.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	out := &wellKnownOutput{ContentType: "application/json", ETag: c.ETag, CacheControl: "public, max-age=60, must-revalidate", Body: c.JSON}
	if p, ok := originReputation(c); ok {
		// A copy of a peer's card carries its origin's signed reputation, as it arrived.
		out.Reputation = p.Token
		if c.SignatureStatus == registry.SignatureUnsigned {
			if b, err := withReputation(c.JSON, p); err == nil {
				out.Body = b
			}
		}
		if out.ETag, err = httpapi.ETag(struct {
			Card  string
			Token string
		}{c.ETag, p.Token}); err != nil {
			return nil, err
		}
	} else if h.Reputation != nil && c.Origin == "" {
		// The agent's signed reputation rides along: as a card extension when the card is
		// unsigned (adding it to a signed card would break the agent's signature), and in a
		// header always. Reputation is an addition: a failure to sign it serves the card as
		// stored.
		if p, err := h.Reputation.PortableOf(ctx, c.ID); err == nil {
			out.Reputation = p.Token
			if c.SignatureStatus == registry.SignatureUnsigned {
				if b, err := withReputation(c.JSON, p); err == nil {
					out.Body = b
				}
			}
			if out.ETag, err = httpapi.ETag(struct {
				Card  string
				Token string
			}{c.ETag, p.Token}); err != nil {
				return nil, err
			}
		}
	}
	if httpapi.Matches(in.IfNoneMatch, out.ETag) {
		return nil, httpapi.NotModified(out.ETag)
	}
	return out, nil
}

// withReputation is the card document card with p as its reputation extension
// (capabilities.extensions[], uri reputation.ReputationExtensionURI), replacing any the card
// declared under that uri itself.
func withReputation(card []byte, p reputation.PortableReputation) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(card, &doc); err != nil {
		return nil, err
	}
	caps := map[string]json.RawMessage{}
	if raw, ok := doc["capabilities"]; ok {
		if err := json.Unmarshal(raw, &caps); err != nil {
			return nil, err
		}
	}
	var exts []json.RawMessage
	if raw, ok := caps["extensions"]; ok {
		if err := json.Unmarshal(raw, &exts); err != nil {
			return nil, err
		}
	}
	kept := exts[:0]
	for _, e := range exts {
		var x struct {
			URI string `json:"uri"`
		}
		if json.Unmarshal(e, &x) == nil && x.URI == reputation.ReputationExtensionURI {
			continue
		}
		kept = append(kept, e)
	}
	ext, err := json.Marshal(map[string]any{
		"uri":         reputation.ReputationExtensionURI,
		"description": "The agent's reputation, signed by the registry's trust domain (verify the token with its JWT trust bundle)",
		"required":    false,
		"params": map[string]any{"token": p.Token, "agent": p.Agent, "score": p.Score, "tier": p.Tier, "issuer": p.Issuer,
			"expiresAt": p.ExpiresAt.UTC().Format(time.RFC3339)},
	})
	if err != nil {
		return nil, err
	}
	if caps["extensions"], err = json.Marshal(append(kept, ext)); err != nil {
		return nil, err
	}
	if doc["capabilities"], err = json.Marshal(caps); err != nil {
		return nil, err
	}
	return json.Marshal(doc)
}
