// Package identity is the identity fabric: the trust domain, the SPIFFE ID
// scheme of the stack and the Issuer that mints X.509-SVIDs and JWT-SVIDs and serves the trust
// bundle.
//
// It speaks go-spiffe v2's types throughout (spiffeid.ID, spiffeid.TrustDomain,
// spiffebundle.Bundle, x509svid and jwtsvid for verification), so what an Issuer mints is
// verified with go-spiffe itself:
//
//	chain, _ := issuer.MintX509SVID(ctx, csrDER, id, 0)
//	bundle, _ := issuer.Bundle(ctx)
//	gotID, _, err := x509svid.Verify(chain, bundle)
//
//	token, _ := issuer.MintJWTSVID(ctx, id, []string{aud}, 0)
//	svid, err := jwtsvid.ParseAndValidate(token, bundle, []string{aud})
//
// Builtin is the embedded CA, the default; a SPIRE-backed Issuer is the second implementation.
package identity

import (
	"context"
	"crypto/x509"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
)

// Default lifetimes of the SVIDs an Issuer mints when the caller passes a TTL of 0.
const (
	DefaultX509SVIDTTL = time.Hour
	DefaultJWTSVIDTTL  = 5 * time.Minute

	// MaxX509SVIDTTL and MaxJWTSVIDTTL bound what a caller may ask for.
	MaxX509SVIDTTL = 24 * time.Hour
	MaxJWTSVIDTTL  = time.Hour

	// MaxCSRSize is the largest CSR (DER bytes) MintX509SVID accepts.
	MaxCSRSize = 8 << 10
)

// Issuer mints SVIDs for SPIFFE IDs of one trust domain and serves the bundle that verifies them.
// Implementations are safe for concurrent use.
type Issuer interface {
	// TrustDomain is the trust domain every minted SVID belongs to.
	TrustDomain() spiffeid.TrustDomain

	// MintX509SVID issues an X.509-SVID for id to the holder of the key in the PKCS#10 CSR
	// csrDER (ASN.1 DER). The CSR's signature must verify; if it names URI SANs, they must be
	// exactly id. The leaf carries one URI SAN, id. ttl 0 means DefaultX509SVIDTTL; the
	// lifetime is capped at the issuing CA's. The result is the chain, leaf first, followed
	// by the intermediates up to (not including) a trust anchor of Bundle — the form
	// x509svid.Verify and tls.Certificate take.
	MintX509SVID(ctx context.Context, csrDER []byte, id spiffeid.ID, ttl time.Duration) ([]*x509.Certificate, error)

	// MintJWTSVID issues a JWT-SVID (a compact JWS, ES256) for id, valid for the audience
	// (at least one entry). ttl 0 means DefaultJWTSVIDTTL. Read it back with
	// jwtsvid.ParseAndValidate against Bundle.
	MintJWTSVID(ctx context.Context, id spiffeid.ID, audience []string, ttl time.Duration) (string, error)

	// Bundle returns the trust domain's current bundle: X.509 authorities (trust anchors) and
	// JWT authorities, including those kept for overlap after a rotation, with a refresh
	// hint. The caller owns the returned bundle.
	Bundle(ctx context.Context) (*spiffebundle.Bundle, error)
}

// Error codes returned by this package (in *apperr.Error).
const (
	CodeInvalidCSR       = "INVALID_CSR"
	CodeCSRTooLarge      = "CSR_TOO_LARGE"
	CodeCSRIDMismatch    = "CSR_ID_MISMATCH"
	CodeWrongTrustDomain = "WRONG_TRUST_DOMAIN"
	CodeInvalidTTL       = "INVALID_TTL"
	CodeInvalidSPIFFEID  = "INVALID_SPIFFE_ID"
	CodeInvalidAudience  = "INVALID_AUDIENCE"
)

// Path segments of the ID scheme.
const (
	segRegistry = "registry"
	segTEG      = "teg"
	segAgent    = "agent"
	segPortal   = "portal"
)

// maxSegment bounds one caller-chosen path segment (an agent id or a registry name).
const maxSegment = 255

// RegistryID is spiffe://<td>/registry/<name>, the identity of a registry instance.
func RegistryID(td spiffeid.TrustDomain, name string) (spiffeid.ID, error) {
	return fromSegment(td, segRegistry, "registry name", name)
}

// TEGID is spiffe://<td>/teg, the identity of the ledger service.
func TEGID(td spiffeid.TrustDomain) (spiffeid.ID, error) {
	return fromSegments(td, segTEG)
}

// AgentID is spiffe://<td>/agent/<agentID>, the identity of one agent. agentID is one path
// segment: letters, digits, '.', '-' and '_' only, not empty, not "." or "..".
func AgentID(td spiffeid.TrustDomain, agentID string) (spiffeid.ID, error) {
	return fromSegment(td, segAgent, "agent id", agentID)
}

// PortalID is spiffe://<td>/portal, the identity of the web portal.
func PortalID(td spiffeid.TrustDomain) (spiffeid.ID, error) {
	return fromSegments(td, segPortal)
}

// AgentIDOf returns the agent id of an agent SPIFFE ID (spiffe://<td>/agent/<id>) and true, or
// "" and false for any other ID.
func AgentIDOf(id spiffeid.ID) (string, bool) {
	return segmentOf(id, segAgent)
}

// RegistryNameOf returns the name of a registry SPIFFE ID (spiffe://<td>/registry/<name>) and
// true, or "" and false for any other ID.
func RegistryNameOf(id spiffeid.ID) (string, bool) {
	return segmentOf(id, segRegistry)
}

func segmentOf(id spiffeid.ID, kind string) (string, bool) {
	rest, ok := strings.CutPrefix(id.Path(), "/"+kind+"/")
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	return rest, true
}

func fromSegment(td spiffeid.TrustDomain, kind, what, value string) (spiffeid.ID, error) {
	if value == "" {
		return spiffeid.ID{}, apperr.Errorf(apperr.Invalid, CodeInvalidSPIFFEID, "%s is empty", what)
	}
	if len(value) > maxSegment {
		return spiffeid.ID{}, apperr.Errorf(apperr.Invalid, CodeInvalidSPIFFEID, "%s is longer than %d bytes", what, maxSegment)
	}
	if !validSegment(value) {
		return spiffeid.ID{}, apperr.Errorf(apperr.Invalid, CodeInvalidSPIFFEID,
			"%s %q is not one SPIFFE path segment (letters, digits, '.', '-', '_'; not '.' or '..')", what, value)
	}
	return fromSegments(td, kind, value)
}

// validSegment reports whether s is one strict SPIFFE path segment: [A-Za-z0-9._-]+ and not
// "." or ".." (stricter than go-spiffe's backcompat build, which admits more characters).
func validSegment(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func fromSegments(td spiffeid.TrustDomain, segments ...string) (spiffeid.ID, error) {
	if td.IsZero() {
		return spiffeid.ID{}, apperr.New(apperr.Invalid, CodeInvalidSPIFFEID, "trust domain is empty")
	}
	id, err := spiffeid.FromSegments(td, segments...)
	if err != nil {
		return spiffeid.ID{}, apperr.Errorf(apperr.Invalid, CodeInvalidSPIFFEID, "invalid SPIFFE ID: %v", err)
	}
	return id, nil
}

// checkMember refuses the zero ID and IDs outside td.
func checkMember(td spiffeid.TrustDomain, id spiffeid.ID) error {
	if id.IsZero() {
		return apperr.New(apperr.Invalid, CodeInvalidSPIFFEID, "SPIFFE ID is empty")
	}
	if !id.MemberOf(td) {
		return apperr.Errorf(apperr.Forbidden, CodeWrongTrustDomain,
			"SPIFFE ID %s is not in trust domain %s", id, td).With("trust_domain", td.String())
	}
	return nil
}

// checkTTL resolves a requested TTL: 0 means def; negative or above max is refused.
func checkTTL(ttl, def, max time.Duration) (time.Duration, error) {
	switch {
	case ttl == 0:
		return def, nil
	case ttl < 0 || ttl > max:
		return 0, apperr.Errorf(apperr.Invalid, CodeInvalidTTL, "ttl must be between 0 and %s, got %s", max, ttl)
	}
	return ttl, nil
}

// checkX509Request checks an X.509-SVID request the same way for every issuer: a live context,
// an id of the trust domain, a TTL within bounds (0: def) and a CSR that parseCSR accepts for
// id. It returns the parsed CSR and the TTL to use.
func checkX509Request(ctx context.Context, td spiffeid.TrustDomain, csrDER []byte, id spiffeid.ID, ttl, def time.Duration) (*x509.CertificateRequest, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	if err := checkMember(td, id); err != nil {
		return nil, 0, err
	}
	ttl, err := checkTTL(ttl, def, MaxX509SVIDTTL)
	if err != nil {
		return nil, 0, err
	}
	csr, err := parseCSR(csrDER, id)
	if err != nil {
		return nil, 0, err
	}
	return csr, ttl, nil
}

// checkJWTRequest checks a JWT-SVID request the same way for every issuer: a live context, an
// id of the trust domain, at least one non-empty audience, a TTL within bounds (0: def). It
// returns the TTL to use.
func checkJWTRequest(ctx context.Context, td spiffeid.TrustDomain, id spiffeid.ID, audience []string, ttl, def time.Duration) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := checkMember(td, id); err != nil {
		return 0, err
	}
	if len(audience) == 0 {
		return 0, apperr.New(apperr.Invalid, CodeInvalidAudience, "a JWT-SVID needs at least one audience")
	}
	for _, a := range audience {
		if a == "" {
			return 0, apperr.New(apperr.Invalid, CodeInvalidAudience, "an audience is empty")
		}
	}
	return checkTTL(ttl, def, MaxJWTSVIDTTL)
}
