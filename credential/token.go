package credential

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AccessTokenTTL is the lifetime of a developer access token.
const AccessTokenTTL = 15 * time.Minute

// AccessAudience is the audience of developer access tokens.
const AccessAudience = "sovereign-api"

// AccessClaims are the claims of a developer access token: subject (developer id) and session
// (the refresh-token family the token was issued for, so logout revokes it at once).
type AccessClaims struct {
	Subject   string
	SessionID string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

type jwtClaims struct {
	SessionID string `json:"sid"`
	jwt.RegisteredClaims
}

// Errors from ParseAccessToken.
var (
	ErrTokenExpired = errors.New("credential: token expired")
	ErrTokenInvalid = errors.New("credential: token invalid")
)

// TokenSigner signs and verifies EdDSA (Ed25519) JWT access tokens. Only EdDSA is accepted when
// parsing, so "alg":"none" and algorithm-confusion tokens are rejected.
type TokenSigner struct {
	issuer string
	keyID  string
	priv   ed25519.PrivateKey
	pub    ed25519.PublicKey
	now    func() time.Time
}

// NewTokenSigner returns a signer for issuer with the given key; keyID goes in the "kid" header.
func NewTokenSigner(issuer, keyID string, priv ed25519.PrivateKey) *TokenSigner {
	return &TokenSigner{issuer: issuer, keyID: keyID, priv: priv, pub: priv.Public().(ed25519.PublicKey), now: time.Now}
}

// WithClock returns a copy of s that reads time from now (for tests).
func (s *TokenSigner) WithClock(now func() time.Time) *TokenSigner {
	c := *s
	c.now = now
	return &c
}

// Issue signs an access token for subject in session, valid for AccessTokenTTL, and returns it
// with its claims.
func (s *TokenSigner) Issue(subject, sessionID, tokenID string) (string, AccessClaims, error) {
	now := s.now().UTC().Truncate(time.Second)
	c := AccessClaims{Subject: subject, SessionID: sessionID, IssuedAt: now, ExpiresAt: now.Add(AccessTokenTTL)}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwtClaims{
		SessionID: sessionID,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   subject,
			Audience:  jwt.ClaimStrings{AccessAudience},
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(c.ExpiresAt),
			ID:        tokenID,
		},
	})
	t.Header["kid"] = s.keyID
	signed, err := t.SignedString(s.priv)
	if err != nil {
		return "", AccessClaims{}, fmt.Errorf("credential: sign token: %w", err)
	}
	return signed, c, nil
}

// Parse verifies an access token (signature, algorithm, issuer, audience, expiry) and returns its
// claims. It returns ErrTokenExpired for an expired token and ErrTokenInvalid for anything else.
func (s *TokenSigner) Parse(token string) (AccessClaims, error) {
	var c jwtClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return s.pub, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(s.issuer),
		jwt.WithAudience(AccessAudience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return AccessClaims{}, ErrTokenExpired
		}
		return AccessClaims{}, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	if c.Subject == "" || c.SessionID == "" {
		return AccessClaims{}, fmt.Errorf("%w: missing sub or sid", ErrTokenInvalid)
	}
	return AccessClaims{Subject: c.Subject, SessionID: c.SessionID, IssuedAt: c.IssuedAt.Time, ExpiresAt: c.ExpiresAt.Time}, nil
}
