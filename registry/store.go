package registry

import (
	"context"
	"time"
)

// AccountStore is the storage the account service needs. Methods that find nothing return an
// *apperr.Error of kind NotFound (ErrDeveloperNotFound, ErrAPIKeyNotFound or one with code
// NOT_FOUND); InsertDeveloper returns ErrEmailTaken for a duplicate email. Mark* methods are
// compare-and-set: they report false when the row was already marked.
type AccountStore interface {
	// Tx runs fn with a store whose calls all happen in one transaction (serializable: a
	// read-modify-write inside cannot lose an update).
	Tx(ctx context.Context, fn func(AccountStore) error) error

	InsertDeveloper(ctx context.Context, d *Developer) error
	Developer(ctx context.Context, id string) (*Developer, error)
	DeveloperByEmail(ctx context.Context, email string) (*Developer, error)
	UpdateDeveloper(ctx context.Context, d *Developer) error
	// ListDevelopers returns up to limit developers with id > after, in id order.
	ListDevelopers(ctx context.Context, after string, limit int) ([]Developer, error)
	CountAdmins(ctx context.Context) (int, error)

	InsertEmailVerification(ctx context.Context, v *EmailVerification) error
	EmailVerification(ctx context.Context, hash string) (*EmailVerification, error)
	MarkEmailVerificationUsed(ctx context.Context, hash string, at time.Time) (bool, error)

	InsertSession(ctx context.Context, s *Session) error
	// SessionDeveloper returns a session and its developer in one read (the hot path of every
	// request made with an access token).
	SessionDeveloper(ctx context.Context, sessionID string) (*Session, *Developer, error)
	RevokeSession(ctx context.Context, id string, at time.Time, reason string) error
	RevokeDeveloperSessions(ctx context.Context, developerID string, at time.Time, reason string) error

	InsertRefreshToken(ctx context.Context, t *RefreshToken) error
	RefreshToken(ctx context.Context, hash string) (*RefreshToken, error)
	MarkRefreshTokenUsed(ctx context.Context, hash string, at time.Time) (bool, error)

	// ReplaceRecoveryKeys deletes the developer's recovery keys and stores keys instead.
	ReplaceRecoveryKeys(ctx context.Context, developerID string, keys []RecoveryKey) error
	UnusedRecoveryKeys(ctx context.Context, developerID string) ([]RecoveryKey, error)
	MarkRecoveryKeyUsed(ctx context.Context, id string, at time.Time) (bool, error)

	InsertAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyDeveloper returns the key with the given hash and its developer in one read.
	APIKeyDeveloper(ctx context.Context, hash string) (*APIKey, *Developer, error)
	APIKey(ctx context.Context, developerID, id string) (*APIKey, error)
	// ListAPIKeys returns up to limit of the developer's keys with id > after, in id order.
	ListAPIKeys(ctx context.Context, developerID, after string, limit int) ([]APIKey, error)
	CountActiveAPIKeys(ctx context.Context, developerID string) (int, error)
	RevokeAPIKey(ctx context.Context, id string, at time.Time) error
	TouchAPIKey(ctx context.Context, id string, at time.Time) error

	// SigningKey returns the newest access-token signing key, or a NotFound error.
	SigningKey(ctx context.Context) (id string, privateKey []byte, err error)
	InsertSigningKey(ctx context.Context, id, algorithm string, privateKey []byte, at time.Time) error
}

// Mailer delivers the emails of the account flows.
type Mailer interface {
	// SendVerification asks the owner of address to open url to verify it.
	SendVerification(ctx context.Context, to, name, url string) error
}
