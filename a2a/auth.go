package a2a

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/tracing"
)

// Auth middleware: an agent's server checks the credentials its card's security
// schemes name before a request reaches the binding.
//
//   - HTTP bearer, OAuth2 and OpenID Connect schemes read "Authorization: Bearer <token>". A
//     JWT-SVID is verified with go-spiffe against JWTBundles for one of Audiences; any other
//     token (or a JWT-SVID when JWTBundles is nil) goes to VerifyBearer.
//   - An apiKey scheme reads the header (query parameter, cookie) the scheme names and asks
//     VerifyAPIKey.
//   - A mutualTLS scheme verifies the TLS client certificate as an X.509-SVID against
//     X509Bundles (x509svid.ParseAndVerify). The TLS server must ask for a client certificate
//     without verifying it itself (tls.RequestClientCert), or verify it against the same bundle.
//
// Which credentials are required follows the card: its security requirements (any one
// requirement, all schemes within it) or, when it lists none, any one of its schemes; an empty
// requirement ({}) allows anonymous callers. A credential that is presented but does not verify
// refuses the request even when none is required. A card without security schemes accepts every
// request as anonymous.

// Limits of the auth middleware.
const (
	// DefaultBundleRefresh is how long an HTTPBundleSource keeps a bundle that carries no
	// refresh hint.
	DefaultBundleRefresh = 5 * time.Minute
	// bundleFetchTimeout bounds one fetch of a trust bundle.
	bundleFetchTimeout = 10 * time.Second
	// maxBundleBytes bounds a trust bundle document.
	maxBundleBytes = 1 << 20
	// maxBearerBytes bounds a bearer token or API key (longer ones are refused unread).
	maxBearerBytes = 16 << 10
)

// ErrUnauthenticated is the refusal of a request without a valid credential where the card
// requires one (HTTP 401).
var ErrUnauthenticated = &Error{Code: CodeUnauthenticated, Message: "authentication required"}

// Authenticator is the auth middleware of an agent's server: it authenticates each A2A request
// against Card's security schemes, puts the caller into the request's context (WithCaller: the
// agent id for an agent's SPIFFE ID, else the identity a verifier returned), and asks Authorize,
// when set, whether the caller may call the method. Fields left nil disable the credential kind
// they verify (a scheme whose verifier is missing accepts nothing). Safe for concurrent use once
// configured.
type Authenticator struct {
	// Card is the agent's card: its security schemes and requirements say what is accepted.
	Card *a2apb.AgentCard
	// JWTBundles verifies JWT-SVID bearer tokens (a *HTTPBundleSource on the registry's
	// /api/v1/identity/bundle, an identity issuer's bundle …).
	JWTBundles jwtbundle.Source
	// Audiences are the audiences a JWT-SVID may be for (any one of them): normally the agent's
	// own SPIFFE ID only — callers ask the registry's token endpoint for a token with this
	// agent as its audience. Never the TEG's: a caller's TEG token would then let the agent
	// spend the caller's money.
	Audiences []string
	// X509Bundles verifies mTLS client X.509-SVIDs.
	X509Bundles x509bundle.Source
	// VerifyAPIKey checks an API key and returns the caller it belongs to.
	VerifyAPIKey func(ctx context.Context, key string) (caller string, err error)
	// VerifyBearer checks a bearer token that is not a JWT-SVID (an OAuth2 access token) and
	// returns its caller.
	VerifyBearer func(ctx context.Context, token string) (caller string, err error)
	// Authorize, when set, is asked after authentication whether caller ("" when anonymous)
	// may call method (the v1.0 method name, such as "SendMessage", for either binding). An
	// *Error is answered as it is; any other error is a 403 (CodePermissionDenied) with its
	// message. An agent can plug policy.Authorize in here.
	Authorize func(ctx context.Context, caller, method string) error
	// MaxBodyBytes bounds the JSON-RPC body the middleware reads to learn the method
	// (DefaultMaxBodyBytes when zero); a larger body is passed on for the binding to refuse.
	MaxBodyBytes int64
}

// credentialKind is a kind of credential a scheme asks for.
type credentialKind int

const (
	credNone credentialKind = iota
	credBearer
	credAPIKey
	credMTLS
)

// schemeKind is what scheme s asks for.
func schemeKind(s *a2apb.SecurityScheme) credentialKind {
	switch {
	case s.GetHttpAuthSecurityScheme() != nil:
		if strings.EqualFold(s.GetHttpAuthSecurityScheme().GetScheme(), "bearer") {
			return credBearer
		}
	case s.GetOauth2SecurityScheme() != nil, s.GetOpenIdConnectSecurityScheme() != nil:
		return credBearer
	case s.GetApiKeySecurityScheme() != nil:
		return credAPIKey
	case s.GetMtlsSecurityScheme() != nil:
		return credMTLS
	}
	return credNone
}

// Authenticate returns the caller of r: "" for an anonymous caller the card allows. It fails
// with an *Error of CodeUnauthenticated when a presented credential does not verify, or when
// none is presented and the card requires one.
func (a *Authenticator) Authenticate(r *http.Request) (string, error) {
	schemes := a.Card.GetSecuritySchemes()
	if len(schemes) == 0 {
		return "", nil
	}
	ctx := r.Context()
	names := make([]string, 0, len(schemes))
	for n := range schemes {
		names = append(names, n)
	}
	slices.Sort(names)
	satisfied := map[string]bool{}
	var callers [credMTLS + 1]string // the caller found by each kind
	var (
		bearerDone bool
		bearerID   string
		bearerErr  error
	)
	for _, name := range names {
		s := schemes[name]
		var (
			id        string
			presented bool
			err       error
		)
		kind := schemeKind(s)
		switch kind {
		case credBearer:
			if !bearerDone {
				bearerDone = true
				var tok string
				if tok, presented = bearerToken(r); presented {
					bearerID, bearerErr = a.verifyBearer(ctx, tok)
				}
			}
			presented = bearerID != "" || bearerErr != nil
			id, err = bearerID, bearerErr
		case credAPIKey:
			var key string
			if key, presented = apiKeyOf(r, s.GetApiKeySecurityScheme()); presented {
				id, err = a.verifyAPIKey(ctx, key)
			}
		case credMTLS:
			if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
				presented = true
				id, err = a.verifyMTLS(r)
			}
		}
		if !presented {
			continue
		}
		if err != nil {
			return "", &Error{Code: CodeUnauthenticated, Message: fmt.Sprintf("authentication failed (%s): %v", name, err)}
		}
		satisfied[name] = true
		if callers[kind] == "" {
			callers[kind] = id
		}
	}
	caller := callers[credMTLS]
	if caller == "" {
		caller = callers[credBearer]
	}
	if caller == "" {
		caller = callers[credAPIKey]
	}
	if a.requirementMet(satisfied) {
		return caller, nil
	}
	return "", &Error{Code: CodeUnauthenticated, Message: "authentication required: present a credential of " + a.schemeList()}
}

// requirementMet reports whether the satisfied schemes meet the card's requirements: one
// requirement whose schemes are all satisfied (an empty one needs none), or, with no
// requirements, any scheme.
func (a *Authenticator) requirementMet(satisfied map[string]bool) bool {
	reqs := a.Card.GetSecurityRequirements()
	if len(reqs) == 0 {
		return len(satisfied) > 0
	}
	for _, req := range reqs {
		ok := true
		for n := range req.GetSchemes() {
			ok = ok && satisfied[n]
		}
		if ok {
			return true
		}
	}
	return false
}

// schemeList names the card's schemes for an error message.
func (a *Authenticator) schemeList() string {
	var names []string
	for n := range a.Card.GetSecuritySchemes() {
		names = append(names, n)
	}
	slices.Sort(names)
	return "the card's security schemes (" + strings.Join(names, ", ") + ")"
}

// bearerToken is the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(h[7:]), true
}

// apiKeyOf is the API key the scheme names, from a header (the default), query or cookie.
func apiKeyOf(r *http.Request, s *a2apb.APIKeySecurityScheme) (string, bool) {
	name := s.GetName()
	if name == "" {
		return "", false
	}
	var v string
	switch strings.ToLower(s.GetLocation()) {
	case "query":
		v = r.URL.Query().Get(name)
	case "cookie":
		if c, err := r.Cookie(name); err == nil {
			v = c.Value
		}
	default:
		v = r.Header.Get(name)
	}
	return v, v != ""
}

// looksLikeJWT reports whether tok has the three dot-separated parts of a JWS.
func looksLikeJWT(tok string) bool { return strings.Count(tok, ".") == 2 }

func (a *Authenticator) verifyBearer(ctx context.Context, tok string) (string, error) {
	if len(tok) > maxBearerBytes {
		return "", errors.New("the token is too long")
	}
	var svidErr error
	if a.JWTBundles != nil && looksLikeJWT(tok) {
		if len(a.Audiences) == 0 {
			return "", errors.New("the agent accepts no JWT-SVID audience")
		}
		svid, err := jwtsvid.ParseAndValidate(tok, a.JWTBundles, a.Audiences)
		if err == nil {
			return CallerAccount(svid.ID.String()), nil
		}
		svidErr = fmt.Errorf("JWT-SVID: %w", err)
	}
	if a.VerifyBearer != nil {
		id, err := a.VerifyBearer(ctx, tok)
		if err == nil && id != "" {
			return id, nil
		}
		if err == nil {
			err = errors.New("the token names no caller")
		}
		if svidErr == nil {
			return "", err
		}
	}
	if svidErr != nil {
		return "", svidErr
	}
	return "", errors.New("bearer tokens are not accepted")
}

func (a *Authenticator) verifyAPIKey(ctx context.Context, key string) (string, error) {
	if a.VerifyAPIKey == nil {
		return "", errors.New("API keys are not accepted")
	}
	if len(key) > maxBearerBytes {
		return "", errors.New("the API key is too long")
	}
	id, err := a.VerifyAPIKey(ctx, key)
	if err == nil && id == "" {
		err = errors.New("the API key names no caller")
	}
	return id, err
}

func (a *Authenticator) verifyMTLS(r *http.Request) (string, error) {
	if a.X509Bundles == nil {
		return "", errors.New("client certificates are not accepted")
	}
	raw := make([][]byte, len(r.TLS.PeerCertificates))
	for i, c := range r.TLS.PeerCertificates {
		raw[i] = c.Raw
	}
	id, _, err := x509svid.ParseAndVerify(raw, a.X509Bundles)
	if err != nil {
		return "", fmt.Errorf("X.509-SVID: %w", err)
	}
	return CallerAccount(id.String()), nil
}

// authorize asks the Authorize hook, turning its refusal into an *Error.
func (a *Authenticator) authorize(ctx context.Context, caller, method string) *Error {
	if a.Authorize == nil || method == "" {
		return nil
	}
	err := a.Authorize(ctx, caller, method)
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodePermissionDenied, Message: err.Error()}
}

// Middleware returns next (a binding's handler: NewJSONRPCHandler when binding is
// BindingJSONRPC, NewRESTHandler for BindingHTTPJSON, mounted at its root) behind the
// authenticator: an unauthenticated request is answered in the binding's error format with
// HTTP 401 (and WWW-Authenticate when the card takes bearer tokens), a refused one with 403;
// an accepted one reaches next with WithCaller set.
func (a *Authenticator) Middleware(binding string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rpc := !strings.EqualFold(binding, BindingHTTPJSON)
		id, method := nullID, ""
		if rpc {
			id, method = a.peekRPC(r)
		} else if rt, _ := matchREST(r.Method, r.URL); rt != nil {
			method = rt.name
		}
		caller, err := a.Authenticate(r)
		if err == nil {
			if e := a.authorize(r.Context(), caller, method); e != nil {
				err = e
			}
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				e = ErrUnauthenticated
			}
			status := HTTPStatus(e)
			if status == http.StatusUnauthorized && a.takesBearer() {
				w.Header().Set("WWW-Authenticate", "Bearer")
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			if rpc {
				body, _ := json.Marshal(&rpcResponse{JSONRPC: "2.0", ID: id, Error: &rpcError{Code: e.Code, Message: e.Message}})
				_, _ = w.Write(body)
			} else {
				_, _ = w.Write(restErrorJSON(status, e))
			}
			return
		}
		if caller != "" {
			r = r.WithContext(WithCaller(r.Context(), caller))
		}
		next.ServeHTTP(w, r)
	})
}

// takesBearer reports whether the card has a bearer-token scheme.
func (a *Authenticator) takesBearer() bool {
	for _, s := range a.Card.GetSecuritySchemes() {
		if schemeKind(s) == credBearer {
			return true
		}
	}
	return false
}

// peekRPC reads a JSON-RPC request's id and v1.0 method name, leaving the body for the
// binding. Requests it cannot read give a null id and no method: the binding refuses them.
func (a *Authenticator) peekRPC(r *http.Request) (json.RawMessage, string) {
	if r.Method != http.MethodPost || r.Body == nil {
		return nullID, ""
	}
	limit := a.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	rest := r.Body
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(body), rest), rest}
	if err != nil || int64(len(body)) > limit {
		return nullID, ""
	}
	id, req, err := parseRPCRequest(body)
	if err != nil {
		return id, ""
	}
	var method string
	if json.Unmarshal(req.Method, &method) != nil {
		return id, ""
	}
	version, err := negotiateVersion(r.Header.Get(VersionHeader))
	if err != nil {
		return id, ""
	}
	if version == ProtocolVersion03 {
		method = methods03[method]
	}
	if _, ok := rpcMethods[method]; !ok {
		return id, ""
	}
	return id, method
}

// ---- trust bundles over HTTP ----

// HTTPBundleSource is a trust domain's SPIFFE bundle fetched over HTTP (the registry's
// GET /api/v1/identity/bundle) and cached for its refresh hint (DefaultBundleRefresh when it
// has none). It is a jwtbundle.Source and an x509bundle.Source for Authenticator. A failed
// refresh keeps the bundle it has. Safe for concurrent use.
type HTTPBundleSource struct {
	// URL is the bundle document's address.
	URL string
	// TrustDomain is the trust domain the bundle is for.
	TrustDomain spiffeid.TrustDomain
	// HTTPClient fetches it (a client with a timeout when nil).
	HTTPClient *http.Client
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	mu      sync.Mutex
	bundle  *spiffebundle.Bundle
	expires time.Time
}

var (
	_ jwtbundle.Source  = (*HTTPBundleSource)(nil)
	_ x509bundle.Source = (*HTTPBundleSource)(nil)
)

// GetJWTBundleForTrustDomain implements jwtbundle.Source.
func (s *HTTPBundleSource) GetJWTBundleForTrustDomain(td spiffeid.TrustDomain) (*jwtbundle.Bundle, error) {
	b, err := s.get(td)
	if err != nil {
		return nil, err
	}
	return b.JWTBundle(), nil
}

// GetX509BundleForTrustDomain implements x509bundle.Source.
func (s *HTTPBundleSource) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	b, err := s.get(td)
	if err != nil {
		return nil, err
	}
	return b.X509Bundle(), nil
}

func (s *HTTPBundleSource) get(td spiffeid.TrustDomain) (*spiffebundle.Bundle, error) {
	if td != s.TrustDomain {
		return nil, fmt.Errorf("a2a: no bundle for trust domain %q (this source has %q)", td, s.TrustDomain)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bundle != nil && now().Before(s.expires) {
		return s.bundle, nil
	}
	b, err := s.fetch()
	if err != nil {
		if s.bundle != nil {
			return s.bundle, nil
		}
		return nil, err
	}
	refresh := DefaultBundleRefresh
	if hint, ok := b.RefreshHint(); ok && hint > 0 {
		refresh = hint
	}
	s.bundle, s.expires = b, now().Add(refresh)
	return b, nil
}

func (s *HTTPBundleSource) fetch() (*spiffebundle.Bundle, error) {
	ctx, cancel := context.WithTimeout(context.Background(), bundleFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("a2a: trust bundle: %w", err)
	}
	hc := s.HTTPClient
	if hc == nil {
		hc = tracing.Client(bundleFetchTimeout)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("a2a: trust bundle: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBundleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("a2a: trust bundle: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("a2a: trust bundle %s: HTTP %d", s.URL, resp.StatusCode)
	}
	if len(data) > maxBundleBytes {
		return nil, fmt.Errorf("a2a: trust bundle %s: over %d bytes", s.URL, maxBundleBytes)
	}
	b, err := spiffebundle.Parse(s.TrustDomain, data)
	if err != nil {
		return nil, fmt.Errorf("a2a: trust bundle %s: %w", s.URL, err)
	}
	return b, nil
}
