// Package ardhttp serves the registry's Agentic Resource Discovery (ARD) API over net/http:
// POST /ard/v1/search, POST /ard/v1/explore, GET /ard/v1/agents, GET /ard/v1/agents/{urn}, and
// the registry's manifest at GET /.well-known/ai-catalog.json. Every error is an ARD error body
// {"errorCode","message"} whose status comes from httpapi's one mapping (httpapi.ARDError).
// The routes are public reads, limited per client by the default rate-limit class.
package ardhttp

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/ard"
	"github.com/sovereign-stack/sovereign/discovery"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/ids"
	"github.com/sovereign-stack/sovereign/registry"
)

// Paths of the ARD routes.
const (
	// Prefix is the base path of the ARD registry API; search results name it as their source.
	Prefix = "/ard/v1/"
	// ManifestPath is where the registry's ai-catalog.json is served.
	ManifestPath = "/.well-known/ai-catalog.json"
)

// Cache lifetimes of the cacheable answers (all carry an ETag for revalidation).
const (
	manifestCache = "public, max-age=300"
	readCache     = "public, max-age=60"
)

// maxScan bounds the cards one GET /agents request examines when the filter has updatedAt
// bounds (which the discovery index cannot apply): past it the page is returned short, with a
// pageToken to continue.
const maxScan = 10000

// Handler serves the ARD routes over the card service. BaseURL is the public base URL of the
// registry (e.g. "http://127.0.0.1:8420"); leave it empty only in tests, since the request's
// scheme and Host then stand in for it and a client-chosen Host would end up in cacheable
// answers. HostName is
// the registry's display name in its manifest (empty: Cards.Host()); Limits (nil: none) limits
// each client with the default class.
type Handler struct {
	Cards    *registry.Cards
	BaseURL  string
	HostName string
	Limits   *httpapi.RateLimits
}

// Register mounts the routes on mux. Requests under /ard/v1/ that match no route get ARD
// errors too (404 NOT_FOUND, or 400 INVALID_ARGUMENT for a wrong method).
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle("POST "+Prefix+"search", h.route(h.search))
	mux.Handle("POST "+Prefix+"explore", h.route(h.explore))
	mux.Handle("GET "+Prefix+"agents", h.route(h.list))
	mux.Handle("GET "+Prefix+"agents/{urn}", h.route(h.agent))
	mux.Handle("GET "+ManifestPath, h.route(h.manifest))
	mux.Handle(Prefix, h.route(h.unmatched))
}

// route wraps a handler with what every ARD route does: a request id, the rate limit, and ARD
// error bodies.
func (h *Handler) route(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if w.Header().Get(httpapi.RequestIDHeader) == "" {
			// Outside httpapi.Handler (which sets it) the route still names its request.
			w.Header().Set(httpapi.RequestIDHeader, ids.New(ids.Request))
		}
		var err error
		if h.Limits != nil {
			err = h.Limits.CheckRequest(r, httpapi.RateDefault)
		}
		if err == nil {
			err = fn(w, r)
		}
		if err != nil {
			writeError(w, r, err)
		}
	})
}

// writeError writes err as an ARD error body.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg, hdr := httpapi.ARDError(r.Context(), err)
	for k, vs := range hdr {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Del("ETag")
	w.Header().Del("Cache-Control")
	w.Header().Del("Link")
	httpapi.WriteJSON(w, status, ard.Error{ErrorCode: code, Message: msg})
}

// writeCached writes a GET answer with its ETag and cache lifetime, or 304 when the client's
// If-None-Match already names it.
func writeCached(w http.ResponseWriter, r *http.Request, cache string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return apperr.Internalf("encode answer: %w", err)
	}
	etag, err := httpapi.ETag(json.RawMessage(b))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", cache)
	if httpapi.Matches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// readBody reads a JSON request body of at most ard.MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, apperr.Errorf(apperr.BadRequest, ard.CodeInvalidArgument, "send the body as application/json, not %q", ct)
		}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ard.MaxBodyBytes))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, apperr.Errorf(apperr.TooLarge, "BODY_TOO_LARGE", "the request body is larger than %d bytes", ard.MaxBodyBytes)
	case apperr.KindOf(err) != apperr.Internal:
		// The stack's body checks (httpapi.CheckJSON, a body cut short) say what was wrong.
		return nil, err
	case err != nil:
		return nil, apperr.Errorf(apperr.BadRequest, ard.CodeInvalidArgument, "the request body could not be read: %v", err)
	}
	return data, nil
}

// base is the public base URL, without a trailing slash.
func (h *Handler) base(r *http.Request) string {
	if h.BaseURL != "" {
		return strings.TrimRight(h.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// entry is the catalog entry of c; the registry serves the card itself at
// <base>/agents/{id}/.well-known/agent-card.json.
func (h *Handler) entry(r *http.Request, c *registry.AgentCard) ard.CatalogEntry {
	return ard.Entry(c, h.Cards.URN(c), h.base(r)+"/agents/"+url.PathEscape(c.ID)+"/.well-known/agent-card.json")
}

// search answers POST /ard/v1/search.
func (h *Handler) search(w http.ResponseWriter, r *http.Request) error {
	data, err := readBody(w, r)
	if err != nil {
		return err
	}
	req, err := ard.DecodeSearchRequest(data)
	if err != nil {
		return err
	}
	sel, err := ard.Select(req.Query)
	if err != nil {
		return err
	}
	key := sel.Key("search", "relevance")
	var tok ard.PageToken
	hasTok := req.PageToken != ""
	if hasTok {
		if tok, err = ard.DecodePageToken(req.PageToken, key); err != nil {
			return err
		}
	}
	resp := ard.SearchResponse{Results: []ard.SearchResultItem{}}
	if sel.None {
		httpapi.WriteJSON(w, http.StatusOK, resp)
		return nil
	}
	q := sel.Query
	q.Limit = req.PageSize
	if hasTok {
		q.After = &tok.After
	}
	res, standings, _, err := h.Cards.SearchReputation(r.Context(), httpapi.Subject(r.Context()), q, false, sel.Reputation, 0)
	if err != nil {
		return err
	}
	if !hasTok && len(res.Scores) > 0 {
		tok.Top = res.Scores[0]
	}
	source := h.base(r) + Prefix
	ranked := len(discovery.QueryTokens(q.Text)) > 0
	for i, c := range res.Cards {
		score := 100 // every match of a query without text
		if ranked {
			score = res.Relevance[i]
		}
		e := h.entry(r, c)
		if st, ok := standings[c.ID]; ok {
			// Each result's reputation, as scalars (the entry's metadata holds only those).
			if e.Metadata == nil {
				e.Metadata = map[string]any{}
			}
			e.Metadata["reputationScore"] = st.Score
			e.Metadata["reputationTier"] = st.Tier
		}
		resp.Results = append(resp.Results, ard.SearchResultItem{CatalogEntry: e, Score: score, Source: source})
	}
	if res.Next != nil {
		resp.PageToken = ard.PageToken{After: *res.Next, Top: tok.Top}.Encode(key)
	}
	httpapi.WriteJSON(w, http.StatusOK, resp)
	return nil
}

// explore answers POST /ard/v1/explore.
func (h *Handler) explore(w http.ResponseWriter, r *http.Request) error {
	data, err := readBody(w, r)
	if err != nil {
		return err
	}
	req, err := ard.DecodeExploreRequest(data)
	if err != nil {
		return err
	}
	sel, err := ard.Select(req.Query)
	if err != nil {
		return err
	}
	if sel.Reputation.Active() {
		return apperr.Errorf(apperr.BadRequest, ard.CodeInvalidArgument, "%s and %s narrow search results; explore counts take the other filter fields",
			ard.FieldMinReputation, ard.FieldTier)
	}
	var counts map[string][]discovery.FacetCount
	if !sel.None && len(req.ResultType.Facets) > 0 {
		if counts, err = h.Cards.Facets(r.Context(), sel.Query, ard.DiscoveryFacets(req.ResultType.Facets)); err != nil {
			return err
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, ard.Facets(req.ResultType.Facets, counts))
	return nil
}

// list answers GET /ard/v1/agents.
func (h *Handler) list(w http.ResponseWriter, r *http.Request) error {
	qp := r.URL.Query()
	size := ard.DefaultListPageSize
	if v := qp.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > ard.MaxPageSize {
			return apperr.Errorf(apperr.BadRequest, ard.CodeInvalidArgument, "pageSize must be an integer between 1 and %d, not %q", ard.MaxPageSize, v)
		}
		if n > 0 { // 0 asks for the default
			size = n
		}
	}
	sel, err := ard.ParseFilter(qp.Get("filter"))
	if err != nil {
		return err
	}
	order, err := ard.ParseOrderBy(qp.Get("orderBy"))
	if err != nil {
		return err
	}
	key := sel.Key("list", order)
	var after *discovery.Position
	if v := qp.Get("pageToken"); v != "" {
		tok, err := ard.DecodePageToken(v, key)
		if err != nil {
			return err
		}
		after = &tok.After
	}
	resp := ard.ListResponse{Items: []ard.CatalogEntry{}}
	if !sel.None {
		cards, next, err := h.scan(r, sel, after, size)
		if err != nil {
			return err
		}
		for _, c := range cards {
			resp.Items = append(resp.Items, h.entry(r, c))
		}
		if next != nil {
			resp.PageToken = ard.PageToken{After: *next}.Encode(key)
		}
	}
	return writeCached(w, r, readCache, resp)
}

// scan lists up to size cards of sel (no text: registration order) after a position, and
// the position to continue after (nil at the end). Without updatedAt bounds it is one discovery
// page; with them it reads pages until size cards pass the bounds or maxScan cards were read.
func (h *Handler) scan(r *http.Request, sel ard.Selection, after *discovery.Position, size int) ([]*registry.AgentCard, *discovery.Position, error) {
	q := sel.Query
	q.Text = ""
	q.After = after
	q.Limit = size
	if sel.Bounded() {
		q.Limit = 500
	}
	var out []*registry.AgentCard
	for scanned := 0; ; {
		res, err := h.Cards.Search(r.Context(), httpapi.Subject(r.Context()), q, false)
		if err != nil {
			return nil, nil, err
		}
		for i, c := range res.Cards {
			if !sel.Admits(c) {
				continue
			}
			out = append(out, c)
			if len(out) == size {
				if i == len(res.Cards)-1 && res.Next == nil {
					return out, nil, nil
				}
				return out, &discovery.Position{ID: c.ID}, nil
			}
		}
		scanned += q.Limit
		if res.Next == nil {
			return out, nil, nil
		}
		if scanned >= maxScan {
			return out, res.Next, nil
		}
		q.After = res.Next
	}
}

// agent answers GET /ard/v1/agents/{urn}: the catalog entry of one card of this registry.
func (h *Handler) agent(w http.ResponseWriter, r *http.Request) error {
	urn := r.PathValue("urn")
	slug, err := h.slugOf(urn)
	if err != nil {
		return err
	}
	c, err := h.Cards.GetBySlug(r.Context(), slug)
	if apperr.KindOf(err) == apperr.NotFound {
		return apperr.Errorf(apperr.NotFound, "AGENT_NOT_FOUND", "no agent %s in this registry", urn)
	}
	if err != nil {
		return err
	}
	return writeCached(w, r, readCache, h.entry(r, c))
}

// slugOf is the card name in an agent URN of this registry (urn:air:<host>:agent:<name>; the
// "urn:air:" prefix and the host compare case-insensitively). A URN that is not of that form is
// INVALID_ARGUMENT; one of another registry is NOT_FOUND (this registry has no peers).
func (h *Handler) slugOf(urn string) (string, error) {
	const scheme = "urn:air:"
	if len(urn) <= len(scheme) || !strings.EqualFold(urn[:len(scheme)], scheme) {
		return "", apperr.Errorf(apperr.BadRequest, ard.CodeInvalidArgument, "%q is not an agent URN (urn:air:<host>:agent:<name>)", urn)
	}
	rest := urn[len(scheme):]
	i := strings.LastIndex(rest, ":agent:")
	if i <= 0 || i+len(":agent:") == len(rest) || strings.Contains(rest[i+len(":agent:"):], ":") {
		return "", apperr.Errorf(apperr.BadRequest, ard.CodeInvalidArgument, "%q is not an agent URN (urn:air:<host>:agent:<name>)", urn)
	}
	if host := rest[:i]; !strings.EqualFold(host, h.Cards.Host()) {
		return "", apperr.Errorf(apperr.NotFound, "AGENT_NOT_FOUND", "no agent %s in this registry: it is registry %s", urn, h.Cards.Host())
	}
	return rest[i+len(":agent:"):], nil
}

// manifest answers GET /.well-known/ai-catalog.json: the active cards in registration order, at
// most ard.MaxManifestEntries a page. The manifest schema admits no paging member, so the next
// page is named by a Link header (rel="next"); ?pageToken= asks for it.
func (h *Handler) manifest(w http.ResponseWriter, r *http.Request) error {
	sel := ard.Selection{Query: discovery.Query{Statuses: []string{discovery.StatusActive}}}
	key := sel.Key("manifest", ard.OrderRegistration)
	var after *discovery.Position
	if v := r.URL.Query().Get("pageToken"); v != "" {
		tok, err := ard.DecodePageToken(v, key)
		if err != nil {
			return err
		}
		after = &tok.After
	}
	cards, next, err := h.scanAll(r, sel, after, ard.MaxManifestEntries)
	if err != nil {
		return err
	}
	name := h.HostName
	if name == "" {
		name = h.Cards.Host()
	}
	m := ard.Manifest{SpecVersion: ard.SpecVersion, Host: &ard.Host{DisplayName: name, Identifier: h.base(r)},
		Entries: make([]ard.CatalogEntry, 0, len(cards))}
	for _, c := range cards {
		m.Entries = append(m.Entries, h.entry(r, c))
	}
	if next != nil {
		link := h.base(r) + ManifestPath + "?pageToken=" + url.QueryEscape(ard.PageToken{After: *next}.Encode(key))
		w.Header().Set("Link", "<"+link+`>; rel="next"`)
	}
	return writeCached(w, r, manifestCache, m)
}

// scanAll reads up to n cards of sel in discovery pages of at most 500.
func (h *Handler) scanAll(r *http.Request, sel ard.Selection, after *discovery.Position, n int) ([]*registry.AgentCard, *discovery.Position, error) {
	var out []*registry.AgentCard
	for len(out) < n {
		cards, next, err := h.scan(r, sel, after, min(500, n-len(out)))
		if err != nil {
			return nil, nil, err
		}
		out = append(out, cards...)
		if next == nil {
			return out, nil, nil
		}
		after = next
	}
	return out, after, nil
}

// unmatched answers requests under /ard/v1/ that no route takes.
func (h *Handler) unmatched(w http.ResponseWriter, r *http.Request) error {
	p := strings.TrimPrefix(r.URL.Path, Prefix)
	allow := map[string]string{"search": http.MethodPost, "explore": http.MethodPost, "agents": http.MethodGet}
	if strings.HasPrefix(p, "agents/") && !strings.Contains(strings.TrimPrefix(p, "agents/"), "/") {
		p = "agents"
	}
	if m, ok := allow[p]; ok && m != r.Method {
		w.Header().Set("Allow", m)
		return apperr.Errorf(apperr.BadRequest, ard.CodeInvalidArgument, "%s %s is not supported; use %s", r.Method, r.URL.Path, m)
	}
	return apperr.Errorf(apperr.NotFound, "NOT_FOUND", "no ARD route %s %s", r.Method, r.URL.Path)
}
