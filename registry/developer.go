// Package registry is the domain of the federated registry: developer accounts and their
// credentials (this file and accounts.go), and — as later issues land — agent cards, discovery,
// templates, onboarding and federation. It holds the business rules and the interfaces of the
// storage it needs; it imports neither net/http nor database/sql. Adapters live in
// registry/registrysql (SQL) and registry/registryhttp (HTTP).
package registry

import (
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/credential"
)

// Role of a developer account.
type Role string

// The roles. An admin may do everything a rule exists for; a developer acts on what it owns.
const (
	RoleDeveloper Role = "developer"
	RoleAdmin     Role = "admin"
)

// Limits on account input.
const (
	MaxEmailLen      = 254
	MaxNameLen       = 100
	MaxAPIKeyName    = 100
	MaxAPIKeysPerDev = 100
	RecoveryKeyCount = 3
	// SessionTTL is how long a login lasts without re-entering the password; each refresh token
	// inside it lives RefreshTokenTTL.
	SessionTTL          = 30 * 24 * time.Hour
	RefreshTokenTTL     = 14 * 24 * time.Hour
	VerificationTTL     = 24 * time.Hour
	apiKeyTouchInterval = time.Minute
)

// Developer is a registry account. Only a developer with a verified email may onboard agents.
type Developer struct {
	ID              string
	Email           string
	Name            string
	Role            Role
	PasswordHash    string
	EmailVerifiedAt *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// SuspendedAt is when an admin suspended the account (nil: active). A suspended developer
	// cannot log in, and its sessions and API keys are refused.
	SuspendedAt *time.Time
}

// Verified reports whether the developer's email address is verified.
func (d *Developer) Verified() bool { return d.EmailVerifiedAt != nil }

// APIKey is a long-lived credential of a developer. Its secret is shown once at creation; only
// its hash is kept. A revoked or expired key authenticates nobody.
type APIKey struct {
	ID          string
	DeveloperID string
	Name        string
	Prefix      string
	Hash        string
	Scopes      []string
	CreatedAt   time.Time
	ExpiresAt   *time.Time
	LastUsedAt  *time.Time
	RevokedAt   *time.Time
}

// Session is one login: the family of refresh tokens issued from it and the access tokens they
// mint. Revoking the session (logout, reuse of a rotated refresh token, password recovery) ends
// them all.
type Session struct {
	ID           string
	DeveloperID  string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	RevokedAt    *time.Time
	RevokeReason string
}

// RefreshToken is one member of a session's rotating refresh-token family. Each is used once;
// using one a second time revokes the family.
type RefreshToken struct {
	Hash      string
	SessionID string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// RecoveryKey is a single-use key that lets a developer who lost the password set a new one.
type RecoveryKey struct {
	ID          string
	DeveloperID string
	Hash        string
	CreatedAt   time.Time
	UsedAt      *time.Time
}

// EmailVerification is a pending proof that a developer controls an email address.
type EmailVerification struct {
	Hash        string
	DeveloperID string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	UsedAt      *time.Time
}

// NormalizeEmail validates an email address and returns its canonical (lower-case) form.
func NormalizeEmail(email string) (string, error) {
	e := strings.TrimSpace(email)
	if e == "" {
		return "", errInvalidEmail.With("field", "email")
	}
	if len(e) > MaxEmailLen {
		return "", errInvalidEmail.With("field", "email").With("max_length", MaxEmailLen)
	}
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e || a.Name != "" || !strings.Contains(e[strings.LastIndexByte(e, '@')+1:], ".") {
		return "", errInvalidEmail.With("field", "email")
	}
	return strings.ToLower(e), nil
}

// ValidatePassword checks a new password's length (in characters).
func ValidatePassword(pw string) error {
	n := utf8.RuneCountInString(pw)
	if n < credential.MinPasswordLen {
		return errPasswordTooShort.With("field", "password").With("min_length", credential.MinPasswordLen)
	}
	if len(pw) > credential.MaxPasswordLen {
		return errPasswordTooLong.With("field", "password").With("max_length", credential.MaxPasswordLen)
	}
	return nil
}

// ValidateName checks and trims a display name.
func ValidateName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if n == "" || utf8.RuneCountInString(n) > MaxNameLen || strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", errInvalidName.With("field", "name").With("max_length", MaxNameLen)
	}
	return n, nil
}

// The errors of the developer-account domain.
var (
	errInvalidEmail      = apperr.New(apperr.Invalid, "INVALID_EMAIL", "email must be a plain address like dev@example.com")
	errPasswordTooShort  = apperr.New(apperr.Invalid, "PASSWORD_TOO_SHORT", "password must be at least 12 characters")
	errPasswordTooLong   = apperr.New(apperr.Invalid, "PASSWORD_TOO_LONG", "password must be at most 1024 bytes")
	errInvalidName       = apperr.New(apperr.Invalid, "INVALID_NAME", "name must be 1 to 100 printable characters")
	errInvalidScope      = apperr.New(apperr.Invalid, "INVALID_SCOPE", "scopes must be among: read, write")
	errInvalidExpiry     = apperr.New(apperr.Invalid, "INVALID_EXPIRES_AT", "expires_at must be in the future")
	ErrEmailTaken        = apperr.New(apperr.Conflict, "EMAIL_TAKEN", "an account with this email already exists")
	ErrInvalidCredential = apperr.New(apperr.Unauthenticated, "INVALID_CREDENTIALS", "email or password is wrong")
	ErrDeveloperNotFound = apperr.New(apperr.NotFound, "DEVELOPER_NOT_FOUND", "no such developer")
	ErrAPIKeyNotFound    = apperr.New(apperr.NotFound, "API_KEY_NOT_FOUND", "no such API key")
	ErrTooManyAPIKeys    = apperr.New(apperr.Conflict, "TOO_MANY_API_KEYS", "a developer may hold at most 100 active API keys")
	ErrVerificationToken = apperr.New(apperr.BadRequest, "INVALID_VERIFICATION_TOKEN", "the verification link is invalid")
	ErrVerificationUsed  = apperr.New(apperr.Conflict, "VERIFICATION_TOKEN_USED", "the verification link was already used")
	ErrVerificationGone  = apperr.New(apperr.BadRequest, "VERIFICATION_TOKEN_EXPIRED", "the verification link has expired; ask for a new one")
	ErrRefreshInvalid    = apperr.New(apperr.Unauthenticated, "INVALID_REFRESH_TOKEN", "the refresh token is invalid")
	ErrRefreshExpired    = apperr.New(apperr.Unauthenticated, "REFRESH_TOKEN_EXPIRED", "the refresh token has expired; log in again")
	ErrRefreshReused     = apperr.New(apperr.Unauthenticated, "REFRESH_TOKEN_REUSED", "the refresh token was already used; the session is revoked, log in again")
	ErrSessionRevoked    = apperr.New(apperr.Unauthenticated, "SESSION_REVOKED", "the session has ended; log in again")
	ErrRecoveryInvalid   = apperr.New(apperr.Unauthenticated, "INVALID_RECOVERY_KEY", "email or recovery key is wrong")
	ErrTokenInvalid      = apperr.New(apperr.Unauthenticated, "INVALID_TOKEN", "the access token is invalid")
	ErrTokenExpired      = apperr.New(apperr.Unauthenticated, "TOKEN_EXPIRED", "the access token has expired; refresh it")
	ErrAPIKeyInvalid     = apperr.New(apperr.Unauthenticated, "INVALID_API_KEY", "the API key is invalid")
	ErrAPIKeyRevoked     = apperr.New(apperr.Unauthenticated, "API_KEY_REVOKED", "the API key has been revoked")
	ErrAPIKeyExpired     = apperr.New(apperr.Unauthenticated, "API_KEY_EXPIRED", "the API key has expired")
	ErrForbidden         = apperr.New(apperr.Forbidden, "FORBIDDEN", "not permitted")
	// ErrServerBusy answers a request whose password hashing found the server's argon2id budget
	// taken for longer than it may wait; retry_after_seconds says when to try again.
	ErrServerBusy = apperr.New(apperr.Unavailable, "SERVER_BUSY", "the server is busy hashing passwords; retry shortly")
)
