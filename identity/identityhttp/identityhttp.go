// Package identityhttp serves the identity fabric over HTTP: the trust bundle in
// the SPIFFE bundle format (GET /api/v1/identity/bundle and, through go-spiffe's federation
// handler, GET /.well-known/spiffe-bundle) and X.509-SVID renewal from a CSR
// (POST /api/v1/identity/svid). It decodes requests and encodes answers; who may renew is the
// policy's call (identity.svid.renew), and what may be signed is the issuer's.
package identityhttp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/federation"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/policy"
)

// Paths served.
const (
	BundlePath    = "/api/v1/identity/bundle"
	SVIDPath      = "/api/v1/identity/svid"
	WellKnownPath = "/.well-known/spiffe-bundle"
)

// DefaultMaxAge is the Cache-Control max-age of the bundle when it carries no refresh hint.
const DefaultMaxAge = 300 * time.Second

// maxCSRField bounds the csr field: a PEM encoding of the largest CSR the issuer accepts
// (identity.MaxCSRSize of DER) with room to spare, so that the issuer, not the schema, says
// CSR_TOO_LARGE for CSRs a little over its limit.
const maxCSRField = 4 * identity.MaxCSRSize

// Identity serves the identity routes.
type Identity struct {
	Issuer identity.Issuer
	Authz  policy.Decider
	// Now is the clock of policy inputs (default time.Now).
	Now func() time.Time
}

type bundleInput struct {
	IfNoneMatch string `header:"If-None-Match"`
}

type bundleOutput struct {
	ContentType  string `header:"Content-Type"`
	ETag         string `header:"ETag"`
	CacheControl string `header:"Cache-Control"`
	Body         []byte
}

type svidInput struct {
	Body struct {
		CSR string `json:"csr" maxLength:"32768" doc:"A PKCS#10 certificate request, PEM (CERTIFICATE REQUEST) or base64 DER. It may name no URI SAN or exactly the caller's SPIFFE ID (under SPIRE it must name it); its key must be ECDSA P-256/P-384, RSA ≥ 2048 or Ed25519."`
	}
}

// SVIDView is a freshly minted X.509-SVID.
type SVIDView struct {
	SPIFFEID     string    `json:"spiffe_id" example:"spiffe://sovereign.test/agent/agt_1"`
	CertChainPEM string    `json:"cert_chain_pem" doc:"PEM certificates, the leaf first, then the intermediates up to (not including) a trust anchor of the bundle"`
	ExpiresAt    time.Time `json:"expires_at" doc:"The leaf's NotAfter"`
}

type svidOutput struct {
	Body SVIDView
}

// Register adds the API routes (bundle and SVID renewal) to api. The /.well-known route is
// not an API operation; mount WellKnownHandler on the mux.
func (h *Identity) Register(api huma.API) {
	httpapi.Register(api, huma.Operation{
		OperationID: "identity-bundle", Method: http.MethodGet, Path: BundlePath, Tags: []string{"identity"},
		Summary:     "The trust bundle (X.509 and JWT authorities) in the SPIFFE bundle format",
		Description: "A JWK set with spiffe_refresh_hint, as /.well-known/spiffe-bundle serves it. Cacheable for the refresh hint; send If-None-Match for a 304.",
		Responses: map[string]*huma.Response{"200": {Description: "The SPIFFE bundle", Content: map[string]*huma.MediaType{
			"application/json": {Schema: &huma.Schema{Type: huma.TypeObject, Description: "SPIFFE bundle (JWK set)"}},
		}}},
	}, h.bundle)
	httpapi.Register(api, huma.Operation{
		OperationID: "identity-svid-renew", Method: http.MethodPost, Path: SVIDPath, Tags: []string{"identity"},
		Summary:       "Mint an X.509-SVID for the calling agent's own SPIFFE ID from a CSR (agents)",
		DefaultStatus: http.StatusCreated, Security: httpapi.Authenticated, MaxBodyBytes: 2 * maxCSRField,
	}, h.renew)
}

func (h *Identity) bundle(ctx context.Context, in *bundleInput) (*bundleOutput, error) {
	b, err := h.Issuer.Bundle(ctx)
	if err != nil {
		return nil, err
	}
	data, err := bundleJSON(b)
	if err != nil {
		return nil, err
	}
	etag, err := httpapi.CheckETag(in.IfNoneMatch, json.RawMessage(data))
	if err != nil {
		return nil, err
	}
	maxAge := DefaultMaxAge
	if hint, ok := b.RefreshHint(); ok && hint > 0 {
		maxAge = hint
	}
	return &bundleOutput{
		ContentType:  "application/json",
		ETag:         etag,
		CacheControl: "public, max-age=" + strconv.FormatInt(int64((maxAge+time.Second-1)/time.Second), 10),
		Body:         data,
	}, nil
}

// bundleJSON is b in the SPIFFE bundle format with the JWT authorities ordered by key id:
// go-spiffe writes them in map order, and the ETag must not change from one request to the
// next while the bundle does not.
func bundleJSON(b *spiffebundle.Bundle) ([]byte, error) {
	data, err := b.Marshal()
	if err != nil {
		return nil, apperr.Internalf("identity bundle: %w", err)
	}
	return canonicalBundle(data)
}

// canonicalBundle reorders the keys of a SPIFFE bundle document: X.509 authorities (and any
// other key) first in their order, then JWT authorities sorted by key id. Everything else is
// kept as it is (re-encoded compactly, object members sorted).
func canonicalBundle(data []byte) ([]byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, apperr.Internalf("identity bundle: %w", err)
	}
	var keys []json.RawMessage
	if err := json.Unmarshal(doc["keys"], &keys); err != nil {
		return nil, apperr.Internalf("identity bundle keys: %w", err)
	}
	type key struct {
		raw      json.RawMessage
		jwt      bool
		kid      string
		position int
	}
	ks := make([]key, len(keys))
	for i, raw := range keys {
		var k struct {
			Use string `json:"use"`
			Kid string `json:"kid"`
		}
		if err := json.Unmarshal(raw, &k); err != nil {
			return nil, apperr.Internalf("identity bundle key: %w", err)
		}
		ks[i] = key{raw: raw, jwt: k.Use == "jwt-svid", kid: k.Kid, position: i}
	}
	slices.SortStableFunc(ks, func(a, b key) int {
		switch {
		case a.jwt != b.jwt:
			if a.jwt {
				return 1
			}
			return -1
		case a.jwt:
			return strings.Compare(a.kid, b.kid)
		default:
			return a.position - b.position
		}
	})
	for i := range ks {
		keys[i] = ks[i].raw
	}
	sorted, err := json.Marshal(keys)
	if err != nil {
		return nil, apperr.Internalf("identity bundle: %w", err)
	}
	doc["keys"] = sorted
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, apperr.Internalf("identity bundle: %w", err)
	}
	return out, nil
}

func (h *Identity) renew(ctx context.Context, in *svidInput) (*svidOutput, error) {
	caller := httpapi.Subject(ctx)
	td := h.Issuer.TrustDomain()
	res := policy.Resource{Kind: "svid"}
	id, idErr := identity.AgentID(td, caller.ID)
	if idErr == nil {
		res.ID = id.String()
	}
	if err := h.authorize(ctx, caller, res); err != nil {
		return nil, err
	}
	if idErr != nil {
		return nil, idErr // an agent whose id is no SPIFFE path segment: nothing to issue
	}
	der, err := decodeCSR(in.Body.CSR)
	if err != nil {
		return nil, err
	}
	chain, err := h.Issuer.MintX509SVID(ctx, der, id, 0)
	if err != nil {
		return nil, err
	}
	var sb strings.Builder
	for _, c := range chain {
		_ = pem.Encode(&sb, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return &svidOutput{Body: SVIDView{SPIFFEID: id.String(), CertChainPEM: sb.String(), ExpiresAt: chain[0].NotAfter.UTC()}}, nil
}

func (h *Identity) authorize(ctx context.Context, caller policy.Subject, res policy.Resource) error {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	return policy.Authorize(ctx, h.Authz, policy.Input{
		Subject: caller, Action: policy.ActionIdentitySVIDRenew, Resource: res,
		Context: policy.Context{Time: now().UTC(), RequestID: httpapi.RequestID(ctx)},
	})
}

// decodeCSR reads a CSR given as PEM ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST", one
// block and nothing else) or as base64 DER (standard or URL alphabet, padded or not). What it
// yields is the issuer's to judge: an empty result reaches it as an empty CSR.
func decodeCSR(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.HasPrefix(s, "-----BEGIN") {
		block, rest := pem.Decode([]byte(s))
		switch {
		case block == nil:
			return nil, invalidCSR("the CSR's PEM does not decode")
		case block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST":
			return nil, invalidCSR("the PEM block is a " + strconv.Quote(block.Type) + ", not a CERTIFICATE REQUEST")
		case len(strings.TrimSpace(string(rest))) != 0:
			return nil, invalidCSR("the csr field holds more than one PEM block")
		}
		return block.Bytes, nil
	}
	compact := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if der, err := enc.DecodeString(compact); err == nil {
			return der, nil
		}
	}
	return nil, invalidCSR("the csr field is neither PEM nor base64 DER")
}

func invalidCSR(msg string) error {
	return apperr.New(apperr.BadRequest, identity.CodeInvalidCSR, msg).With("field", "csr")
}

// BundleSource is a spiffebundle.Source over an Issuer: every lookup asks the issuer for its
// current bundle, so rotations are served as soon as they happen. It knows only the issuer's
// trust domain.
type BundleSource struct {
	Issuer identity.Issuer
	// Ctx bounds the issuer call (default context.Background()).
	Ctx context.Context
}

var _ spiffebundle.Source = BundleSource{}

// GetBundleForTrustDomain implements spiffebundle.Source.
func (s BundleSource) GetBundleForTrustDomain(td spiffeid.TrustDomain) (*spiffebundle.Bundle, error) {
	if td != s.Issuer.TrustDomain() {
		return nil, apperr.Errorf(apperr.NotFound, identity.CodeWrongTrustDomain, "no bundle for trust domain %q", td.String())
	}
	ctx := s.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	return s.Issuer.Bundle(ctx)
}

// WellKnownHandler serves the issuer's bundle at /.well-known/spiffe-bundle with go-spiffe's
// federation.NewHandler, as SPIFFE federation expects (a bundle endpoint with "https_web" or
// "https_spiffe" profile in front of it). Mount it as "GET /.well-known/spiffe-bundle" (which
// admits HEAD too); errors are written as envelopes.
func WellKnownHandler(iss identity.Issuer) (http.Handler, error) {
	td := iss.TrustDomain()
	// Fail at start-up, not on the first request, if the handler cannot be built.
	if _, err := federation.NewHandler(td, BundleSource{Issuer: iss}); err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		src := &recordingSource{BundleSource: BundleSource{Issuer: iss, Ctx: r.Context()}}
		// A handler per request, so that the source asks the issuer under the request's context.
		h, err := federation.NewHandler(td, src)
		if err != nil {
			httpapi.WriteError(w, r, apperr.Internalf("federation handler: %w", err))
			return
		}
		fr := r
		if r.Method == http.MethodHead { // net/http drops the body of a HEAD response
			fr = r.Clone(r.Context())
			fr.Method = http.MethodGet
		}
		iw := &interceptWriter{ResponseWriter: w}
		h.ServeHTTP(iw, fr)
		if iw.failed {
			err := src.err
			if err == nil {
				err = apperr.Internalf("federation handler answered %d", iw.status)
			}
			httpapi.WriteError(w, r, err)
		}
	}), nil
}

// recordingSource keeps the error of the lookup, for the envelope.
type recordingSource struct {
	BundleSource
	err error
}

func (s *recordingSource) GetBundleForTrustDomain(td spiffeid.TrustDomain) (*spiffebundle.Bundle, error) {
	b, err := s.BundleSource.GetBundleForTrustDomain(td)
	s.err = err
	return b, err
}

// interceptWriter passes a success through and swallows an error response (status ≥ 400, a
// plain-text body), which the caller then writes as an envelope.
type interceptWriter struct {
	http.ResponseWriter
	failed bool
	status int
}

func (w *interceptWriter) WriteHeader(code int) {
	if code >= 400 {
		w.failed, w.status = true, code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *interceptWriter) Write(p []byte) (int, error) {
	if w.failed {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}
