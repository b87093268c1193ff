package registry

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/policy"
)

// Web sessions: the portal keeps a login in a cookie naming the login's session (the same
// session its refresh tokens belong to) with a MAC over it. Every request checks the session in
// the store, so a logout anywhere (API, CLI, another browser) or a password recovery ends the
// cookie's session too; nothing about it is kept apart from the session itself.

// ErrWebSessionInvalid is a session cookie that this registry did not issue or that was altered.
var ErrWebSessionInvalid = apperr.New(apperr.Unauthenticated, "INVALID_SESSION_COOKIE", "the session cookie is not valid; log in again")

// ErrWebSessionExpired is a session cookie whose session reached its end.
var ErrWebSessionExpired = apperr.New(apperr.Unauthenticated, "SESSION_EXPIRED", "the session has expired; log in again")

// deriveCookieKey derives the session-cookie MAC key from the signing key's seed.
func deriveCookieKey(seed []byte) []byte {
	m := hmac.New(sha256.New, seed)
	m.Write([]byte("sovereign web session cookie v1"))
	return m.Sum(nil)
}

// mac is the MAC of a session id for its cookie, or of purpose|id for SessionMAC.
func (a *Accounts) mac(msg string) string {
	m := hmac.New(sha256.New, a.cookieKey)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// SessionCookie is the cookie value for the session of t (a login, a recovery).
func (a *Accounts) SessionCookie(t *Tokens) string {
	return t.SessionID + "." + a.mac("cookie|"+t.SessionID)
}

// SessionMAC is a value bound to the session of cookie and to purpose (the portal's CSRF
// tokens): anyone may compute it only with the registry's key.
func (a *Accounts) SessionMAC(sessionID, purpose string) string {
	return a.mac(purpose + "|" + sessionID)
}

// AuthenticateSessionCookie checks a session cookie and its session (not revoked, not expired)
// and returns the subject it speaks for, as an access token of that session would, and the
// developer.
func (a *Accounts) AuthenticateSessionCookie(ctx context.Context, cookie string) (policy.Subject, *Developer, error) {
	id, mac, ok := strings.Cut(cookie, ".")
	if !ok || id == "" || !hmac.Equal([]byte(mac), []byte(a.mac("cookie|"+id))) {
		return policy.Subject{}, nil, ErrWebSessionInvalid
	}
	sess, d, err := a.store.SessionDeveloper(ctx, id)
	if apperr.KindOf(err) == apperr.NotFound {
		return policy.Subject{}, nil, ErrWebSessionInvalid
	}
	if err != nil {
		return policy.Subject{}, nil, err
	}
	if sess.RevokedAt != nil {
		return policy.Subject{}, nil, ErrSessionRevoked
	}
	if !a.clock().Before(sess.ExpiresAt) {
		return policy.Subject{}, nil, ErrWebSessionExpired
	}
	if d.SuspendedAt != nil {
		return policy.Subject{}, nil, ErrDeveloperSuspended
	}
	return subjectOf(d, policy.AuthSession, sess.ID, []string{policy.ScopeRead, policy.ScopeWrite}), d, nil
}
