package reputation

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/policy"
)

// Portable reputation is an agent's score and tier as a compact JWS any party verifies offline
// with the stack's published trust bundle (GET /.well-known/spiffe-bundle): a JWT-SVID of the
// TEG's SPIFFE ID whose audience is the statement "sovereign-reputation:v1:AGENT:SCORE:TIER".
// Carrying the statement in the audience keeps it a plain JWT-SVID — signed by the built-in CA's
// JWT key or by SPIRE's, whose key ids are in the bundle — so the standard SVID libraries verify
// it, and nothing but the stack's key can make one.

// statementPrefix starts the audience of a portable reputation.
const statementPrefix = "sovereign-reputation:v1:"

// DefaultPortableTTL is how long a portable reputation is valid: an hour, the longest a JWT-SVID
// may live; holders fetch a fresh one as they would refresh an SVID.
const DefaultPortableTTL = time.Hour

// PortableReputation is a signed statement of an agent's score and tier.
type PortableReputation struct {
	Token     string    `json:"token"`
	Agent     string    `json:"agent"`
	Score     int       `json:"score"`
	Tier      string    `json:"tier"`
	Issuer    string    `json:"issuer"` // the SPIFFE ID that signed it
	ExpiresAt time.Time `json:"expires_at"`
}

// The errors of portable reputation.
var (
	ErrPortableUnavailable = apperr.New(apperr.Unavailable, "REPUTATION_SIGNING_UNAVAILABLE", "this server cannot sign reputation statements")
	ErrPortableInvalid     = apperr.New(apperr.Invalid, "INVALID_REPUTATION_TOKEN", "the token is not a valid signed reputation statement of this trust domain")
)

// Portable signs the agent's current score and tier (valid for DefaultPortableTTL), for whoever
// may read the agent's reputation.
func (s *Service) Portable(ctx context.Context, caller policy.Subject, agent string) (PortableReputation, error) {
	if s.Issuer == nil {
		return PortableReputation{}, ErrPortableUnavailable
	}
	sc, _, err := s.Reputation(ctx, caller, agent)
	if err != nil {
		return PortableReputation{}, err
	}
	return s.sign(ctx, agent, sc)
}

// sign makes the portable reputation of sc.
func (s *Service) sign(ctx context.Context, agent string, sc StoredScore) (PortableReputation, error) {
	id, err := identity.TEGID(s.Issuer.TrustDomain())
	if err != nil {
		return PortableReputation{}, apperr.Internalf("reputation signer id: %w", err)
	}
	aud := statementPrefix + agent + ":" + strconv.Itoa(sc.Score) + ":" + sc.Tier
	tok, err := s.Issuer.MintJWTSVID(ctx, id, []string{aud}, DefaultPortableTTL)
	if err != nil {
		return PortableReputation{}, apperr.Internalf("sign reputation: %w", err)
	}
	return PortableReputation{Token: tok, Agent: agent, Score: sc.Score, Tier: sc.Tier, Issuer: id.String(), ExpiresAt: s.now().Add(DefaultPortableTTL)}, nil
}

// ReputationExtensionURI names the agent card extension in which the registry serves an
// agent's portable reputation (capabilities.extensions[].uri of the card document).
const ReputationExtensionURI = "https://sovereign.dev/ext/reputation/v1"

// PortableOf is the agent's portable reputation for the documents the stack serves (the agent
// card's extension), without a caller: reputation is public. A statement is reused while the
// agent's score and tier are unchanged and more than half its lifetime remains, so a served
// card stays byte-identical (and cacheable) between changes.
func (s *Service) PortableOf(ctx context.Context, agent string) (PortableReputation, error) {
	if s.Issuer == nil {
		return PortableReputation{}, ErrPortableUnavailable
	}
	sc, _, err := s.Current(ctx, agent)
	if err != nil {
		return PortableReputation{}, err
	}
	now := s.now()
	s.portable.mu.Lock()
	p, ok := s.portable.m[agent]
	s.portable.mu.Unlock()
	if ok && p.Score == sc.Score && p.Tier == sc.Tier && p.ExpiresAt.Sub(now) > DefaultPortableTTL/2 {
		return p, nil
	}
	p, err = s.sign(ctx, agent, sc)
	if err != nil {
		return PortableReputation{}, err
	}
	s.portable.mu.Lock()
	if s.portable.m == nil || len(s.portable.m) >= maxCachedScores {
		s.portable.m = map[string]PortableReputation{}
	}
	s.portable.m[agent] = p
	s.portable.mu.Unlock()
	return p, nil
}

// VerifyPortable checks a portable reputation against the trust domain's JWT authorities
// (bundle: the published trust bundle) and returns what it states: signature, expiry, a signer
// of the bundle's trust domain and the statement's form are all checked. It needs no network.
func VerifyPortable(token string, bundle jwtbundle.Source) (PortableReputation, error) {
	// The statement is the audience: read it first, then validate the token for exactly it.
	unverified, err := jwtsvid.ParseInsecure(token, nil)
	if err != nil || len(unverified.Audience) != 1 {
		return PortableReputation{}, ErrPortableInvalid.With("reason", "not a JWT-SVID with one audience")
	}
	aud := unverified.Audience[0]
	svid, err := jwtsvid.ParseAndValidate(token, bundle, []string{aud})
	if err != nil {
		return PortableReputation{}, ErrPortableInvalid.With("reason", err.Error())
	}
	want, err := identity.TEGID(svid.ID.TrustDomain())
	if err != nil || svid.ID != want {
		return PortableReputation{}, ErrPortableInvalid.With("reason", fmt.Sprintf("signed by %s, not the trust domain's TEG", svid.ID))
	}
	p, err := parseStatement(aud)
	if err != nil {
		return PortableReputation{}, err
	}
	p.Token, p.Issuer, p.ExpiresAt = token, svid.ID.String(), svid.Expiry
	return p, nil
}

func parseStatement(aud string) (PortableReputation, error) {
	rest, ok := strings.CutPrefix(aud, statementPrefix)
	parts := strings.Split(rest, ":")
	if !ok || len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return PortableReputation{}, ErrPortableInvalid.With("reason", "not a reputation statement")
	}
	score, err := strconv.Atoi(parts[1])
	if err != nil || score < 0 || score > 1000 {
		return PortableReputation{}, ErrPortableInvalid.With("reason", "score out of range")
	}
	return PortableReputation{Agent: parts[0], Score: score, Tier: parts[2]}, nil
}
