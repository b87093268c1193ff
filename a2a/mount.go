package a2a

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
)

// MountOption configures NewHTTPHandler.
type MountOption func(*mountConfig)

type mountConfig struct {
	auth  *Authenticator
	mws   []func(binding string, next http.Handler) http.Handler
	bopts []BindingOption
}

// WithMiddleware puts mw in front of every binding NewHTTPHandler mounts (after the
// Authenticator of WithAuthenticator, when both are given); the card stays public. mw is called
// once per binding with its name (BindingJSONRPC, BindingHTTPJSON), so that it can answer in
// the binding's format (WriteError).
func WithMiddleware(mw func(binding string, next http.Handler) http.Handler) MountOption {
	return func(c *mountConfig) { c.mws = append(c.mws, mw) }
}

// WithAuthenticator puts auth (its Card defaulting to the mounted card) in front of every
// binding NewHTTPHandler mounts; the card stays public.
func WithAuthenticator(auth *Authenticator) MountOption {
	return func(c *mountConfig) { c.auth = auth }
}

// WithBindingOptions passes opts to the bindings NewHTTPHandler mounts.
func WithBindingOptions(opts ...BindingOption) MountOption {
	return func(c *mountConfig) { c.bopts = append(c.bopts, opts...) }
}

// NewHTTPHandler serves h as card describes it, so that the card and the routes cannot
// disagree: the card at WellKnownCardPath (and the legacy path, CardHandler), the JSON-RPC
// binding at the path of each JSONRPC interface of card.supportedInterfaces, and the HTTP+JSON
// binding under the path of each HTTP+JSON interface — a path with or without its trailing
// slash, "/" when the URL has none. GRPC interfaces are not HTTP routes: serve them with
// NewGRPCServer on the interface's host:port (a card with only those gets a handler of the card
// alone). It fails when the card lists no interface of these bindings, an interface URL does
// not parse, or two bindings claim one path.
func NewHTTPHandler(h Handler, card *a2apb.AgentCard, opts ...MountOption) (http.Handler, error) {
	var cfg mountConfig
	for _, o := range opts {
		o(&cfg)
	}
	var auth *Authenticator
	if cfg.auth != nil {
		auth = cfg.auth
		if auth.Card == nil {
			cp := *auth
			cp.Card = card
			auth = &cp
		}
	}
	wrap := func(binding string, next http.Handler) http.Handler {
		for i := len(cfg.mws) - 1; i >= 0; i-- {
			next = cfg.mws[i](binding, next)
		}
		if auth != nil {
			next = auth.Middleware(binding, next)
		}
		return next
	}
	hasGRPC := false
	m := &mounted{card: CardHandler(card), rpc: map[string]http.Handler{}}
	var rpc, rest http.Handler
	for _, i := range card.GetSupportedInterfaces() {
		binding := normalizeBinding(i.GetProtocolBinding())
		if binding == BindingGRPC {
			hasGRPC = true
		}
		if binding != BindingJSONRPC && binding != BindingHTTPJSON {
			continue
		}
		u, err := url.Parse(i.GetUrl())
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("a2a: interface URL %q of the card is not an absolute URL", i.GetUrl())
		}
		p := "/" + strings.Trim(u.Path, "/")
		if binding == BindingJSONRPC {
			if _, ok := m.rpc[p]; ok {
				continue // v1.0 and v0.3 at one path: one handler serves both
			}
			if m.restOwns(p) {
				return nil, fmt.Errorf("a2a: JSON-RPC path %s is taken by an HTTP+JSON interface", p)
			}
			if rpc == nil {
				rpc = wrap(BindingJSONRPC, NewJSONRPCHandler(h, cfg.bopts...))
			}
			m.rpc[p] = rpc
			continue
		}
		if _, ok := m.rpc[p]; ok {
			return nil, fmt.Errorf("a2a: HTTP+JSON path %s is taken by a JSON-RPC interface", p)
		}
		if m.restOwns(p) {
			continue
		}
		if rest == nil {
			rest = wrap(BindingHTTPJSON, NewRESTHandler(h, cfg.bopts...))
		}
		m.rest = append(m.rest, restMount{prefix: strings.TrimSuffix(p, "/"), h: rest})
	}
	if len(m.rpc) == 0 && len(m.rest) == 0 && !hasGRPC {
		return nil, errors.New("a2a: the card lists no JSONRPC, HTTP+JSON or GRPC interface to serve")
	}
	return m, nil
}

type restMount struct {
	prefix string // "" for the root
	h      http.Handler
}

type mounted struct {
	card http.Handler
	rpc  map[string]http.Handler
	rest []restMount
}

func (m *mounted) restOwns(p string) bool {
	for _, r := range m.rest {
		if r.prefix == strings.TrimSuffix(p, "/") {
			return true
		}
	}
	return false
}

// ServeHTTP implements http.Handler.
func (m *mounted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if p == WellKnownCardPath || p == WellKnownCardPathLegacy {
		m.card.ServeHTTP(w, r)
		return
	}
	clean := "/" + strings.Trim(p, "/")
	if h, ok := m.rpc[clean]; ok && (r.Method == http.MethodPost || len(m.rest) == 0) {
		h.ServeHTTP(w, r)
		return
	}
	for _, rm := range m.rest {
		if rm.prefix == "" || p == rm.prefix || strings.HasPrefix(p, rm.prefix+"/") {
			http.StripPrefix(rm.prefix, rm.h).ServeHTTP(w, r)
			return
		}
	}
	WriteError(w, r, BindingHTTPJSON, &Error{Code: CodeMethodNotFound, Message: "no such route: " + p})
}

// WriteError writes err as the given binding would answer a request that failed before
// reaching it — for middleware in front of a binding (rate limits, tenancy, custom auth): a
// JSON-RPC error response (HTTP 200, or 401/403 for the auth codes, with the request's id when
// the body can be read) for BindingJSONRPC, the google.rpc.Status error body with its HTTP
// status (HTTPStatus) for BindingHTTPJSON. An err that is not an *Error is an internal error
// (its text is not sent). gRPC middleware returns grpcStatusError's equivalent: see
// GRPCStatus.
func WriteError(w http.ResponseWriter, r *http.Request, binding string, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInternalError, Message: "internal error"}
	}
	status := HTTPStatus(e)
	w.Header().Set("Content-Type", "application/json")
	if normalizeBinding(binding) == BindingJSONRPC {
		id := nullID
		if r != nil && r.Body != nil {
			id, _ = (&Authenticator{}).peekRPC(r)
		}
		if status != http.StatusUnauthorized && status != http.StatusForbidden {
			status = http.StatusOK
		}
		re := &rpcError{Code: e.Code, Message: e.Message}
		if info := errorInfo(e); info != nil {
			re.Data = []any{info}
		}
		body, _ := json.Marshal(&rpcResponse{JSONRPC: "2.0", ID: id, Error: re})
		w.WriteHeader(status)
		_, _ = w.Write(body)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write(restErrorJSON(status, e))
}

// GRPCStatus is err as the gRPC binding answers it: a status error with the code of the A2A
// error and its google.rpc.ErrorInfo detail — for gRPC interceptors in front of the binding.
// An err that is not an *Error is an internal error.
func GRPCStatus(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: CodeInternalError, Message: "internal error"}
	}
	return grpcStatusError(e)
}
