// Package registrysql stores the registry's domain in SQL, on SQLite and PostgreSQL alike
// (package store opens either). It implements registry.AccountStore.
package registrysql

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/registry"
	"github.com/sovereign-stack/sovereign/store"
)

// Accounts implements registry.AccountStore.
type Accounts struct {
	db *store.DB
	// w and r are where writes and reads go: the DB's writer and reader, or both the
	// transaction inside Tx.
	w, r store.Querier
	tx   bool
}

var _ registry.AccountStore = (*Accounts)(nil)

// NewAccounts returns the account store over db.
func NewAccounts(db *store.DB) *Accounts {
	return &Accounts{db: db, w: db.Write(), r: db.Read()}
}

// Tx runs fn in one serializable transaction (retried as a whole on conflict). Calling Tx inside
// fn joins the outer transaction.
func (s *Accounts) Tx(ctx context.Context, fn func(registry.AccountStore) error) error {
	if s.tx {
		return fn(s)
	}
	return s.db.InSerializableTx(ctx, func(tx *sql.Tx) error {
		q := s.db.TxQuerier(tx)
		return fn(&Accounts{db: s.db, w: q, r: q, tx: true})
	})
}

var errNotFound = apperr.New(apperr.NotFound, "NOT_FOUND", "not found")

func notFound(err error, nf error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return nf
	}
	return err
}

const developerCols = `d.id, d.email, d.name, d.role, d.password_hash, d.email_verified_at, d.created_at, d.updated_at, d.suspended_at`

func scanDeveloper(sc interface{ Scan(...any) error }, extra ...any) (*registry.Developer, error) {
	var d registry.Developer
	var role string
	dest := append([]any{&d.ID, &d.Email, &d.Name, &role, &d.PasswordHash, store.ScanNullTime(&d.EmailVerifiedAt),
		store.ScanTime(&d.CreatedAt), store.ScanTime(&d.UpdatedAt), store.ScanNullTime(&d.SuspendedAt)}, extra...)
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	d.Role = registry.Role(role)
	return &d, nil
}

// InsertDeveloper stores a new developer; a taken email is registry.ErrEmailTaken.
func (s *Accounts) InsertDeveloper(ctx context.Context, d *registry.Developer) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO developers (id, email, name, role, password_hash, email_verified_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		d.ID, d.Email, d.Name, string(d.Role), d.PasswordHash, store.NullTime(d.EmailVerifiedAt), store.Time(d.CreatedAt), store.Time(d.UpdatedAt))
	if store.IsUniqueViolation(err) {
		return registry.ErrEmailTaken
	}
	return err
}

// Developer returns the developer with id.
func (s *Accounts) Developer(ctx context.Context, id string) (*registry.Developer, error) {
	d, err := scanDeveloper(s.r.QueryRowContext(ctx, `SELECT `+developerCols+` FROM developers d WHERE d.id = $1`, id))
	return d, notFound(err, registry.ErrDeveloperNotFound)
}

// DeveloperByEmail returns the developer with the (normalized) email.
func (s *Accounts) DeveloperByEmail(ctx context.Context, email string) (*registry.Developer, error) {
	d, err := scanDeveloper(s.r.QueryRowContext(ctx, `SELECT `+developerCols+` FROM developers d WHERE d.email = $1`, email))
	return d, notFound(err, registry.ErrDeveloperNotFound)
}

// UpdateDeveloper writes a developer's mutable fields.
func (s *Accounts) UpdateDeveloper(ctx context.Context, d *registry.Developer) error {
	res, err := s.w.ExecContext(ctx, `UPDATE developers SET name = $2, role = $3, password_hash = $4, email_verified_at = $5, updated_at = $6,
		suspended_at = $7 WHERE id = $1`,
		d.ID, d.Name, string(d.Role), d.PasswordHash, store.NullTime(d.EmailVerifiedAt), store.Time(d.UpdatedAt), store.NullTime(d.SuspendedAt))
	return mustAffect(res, err, registry.ErrDeveloperNotFound)
}

func mustAffect(res sql.Result, err error, nf error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return nf
	}
	return nil
}

// ListDevelopers returns up to limit developers with id > after, in id order.
func (s *Accounts) ListDevelopers(ctx context.Context, after string, limit int) ([]registry.Developer, error) {
	return store.ReadReplica(ctx, s.db, func(q store.Querier) ([]registry.Developer, error) {
		rows, err := q.QueryContext(ctx, `SELECT `+developerCols+` FROM developers d WHERE d.id > $1 ORDER BY d.id LIMIT $2`, after, limit)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []registry.Developer
		for rows.Next() {
			d, err := scanDeveloper(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, *d)
		}
		return out, rows.Err()
	})
}

// CountAdmins counts admin accounts.
func (s *Accounts) CountAdmins(ctx context.Context) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM developers WHERE role = 'admin'`).Scan(&n)
	return n, err
}

// InsertEmailVerification stores a pending verification.
func (s *Accounts) InsertEmailVerification(ctx context.Context, v *registry.EmailVerification) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO email_verifications (token_hash, developer_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		v.Hash, v.DeveloperID, store.Time(v.CreatedAt), store.Time(v.ExpiresAt))
	return err
}

// EmailVerification returns the verification with the token hash.
func (s *Accounts) EmailVerification(ctx context.Context, hash string) (*registry.EmailVerification, error) {
	var v registry.EmailVerification
	err := s.r.QueryRowContext(ctx, `SELECT token_hash, developer_id, created_at, expires_at, used_at FROM email_verifications WHERE token_hash = $1`, hash).
		Scan(&v.Hash, &v.DeveloperID, store.ScanTime(&v.CreatedAt), store.ScanTime(&v.ExpiresAt), store.ScanNullTime(&v.UsedAt))
	if err != nil {
		return nil, notFound(err, errNotFound)
	}
	return &v, nil
}

// MarkEmailVerificationUsed marks a verification used, once.
func (s *Accounts) MarkEmailVerificationUsed(ctx context.Context, hash string, at time.Time) (bool, error) {
	return casMark(ctx, s.w, `UPDATE email_verifications SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL`, hash, at)
}

func casMark(ctx context.Context, q store.Querier, query, key string, at time.Time) (bool, error) {
	res, err := q.ExecContext(ctx, query, key, store.Time(at))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// InsertSession stores a new session.
func (s *Accounts) InsertSession(ctx context.Context, ss *registry.Session) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO sessions (id, developer_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		ss.ID, ss.DeveloperID, store.Time(ss.CreatedAt), store.Time(ss.ExpiresAt))
	return err
}

// SessionDeveloper returns a session and its developer in one query.
func (s *Accounts) SessionDeveloper(ctx context.Context, sessionID string) (*registry.Session, *registry.Developer, error) {
	var ss registry.Session
	var reason sql.NullString
	d, err := scanDeveloper(s.r.QueryRowContext(ctx, `SELECT `+developerCols+`, s.id, s.developer_id, s.created_at, s.expires_at, s.revoked_at, s.revoke_reason
		FROM sessions s JOIN developers d ON d.id = s.developer_id WHERE s.id = $1`, sessionID),
		&ss.ID, &ss.DeveloperID, store.ScanTime(&ss.CreatedAt), store.ScanTime(&ss.ExpiresAt), store.ScanNullTime(&ss.RevokedAt), &reason)
	if err != nil {
		return nil, nil, notFound(err, errNotFound)
	}
	ss.RevokeReason = reason.String
	return &ss, d, nil
}

// RevokeSession revokes a session (keeping the first revocation's time and reason).
func (s *Accounts) RevokeSession(ctx context.Context, id string, at time.Time, reason string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE sessions SET revoked_at = $2, revoke_reason = $3 WHERE id = $1 AND revoked_at IS NULL`, id, store.Time(at), reason)
	return err
}

// RevokeDeveloperSessions revokes every open session of a developer.
func (s *Accounts) RevokeDeveloperSessions(ctx context.Context, developerID string, at time.Time, reason string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE sessions SET revoked_at = $2, revoke_reason = $3 WHERE developer_id = $1 AND revoked_at IS NULL`,
		developerID, store.Time(at), reason)
	return err
}

// InsertRefreshToken stores a refresh token.
func (s *Accounts) InsertRefreshToken(ctx context.Context, t *registry.RefreshToken) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		t.Hash, t.SessionID, store.Time(t.CreatedAt), store.Time(t.ExpiresAt))
	return err
}

// RefreshToken returns the refresh token with the hash.
func (s *Accounts) RefreshToken(ctx context.Context, hash string) (*registry.RefreshToken, error) {
	var t registry.RefreshToken
	err := s.r.QueryRowContext(ctx, `SELECT token_hash, session_id, created_at, expires_at, used_at FROM refresh_tokens WHERE token_hash = $1`, hash).
		Scan(&t.Hash, &t.SessionID, store.ScanTime(&t.CreatedAt), store.ScanTime(&t.ExpiresAt), store.ScanNullTime(&t.UsedAt))
	if err != nil {
		return nil, notFound(err, errNotFound)
	}
	return &t, nil
}

// MarkRefreshTokenUsed marks a refresh token used, once.
func (s *Accounts) MarkRefreshTokenUsed(ctx context.Context, hash string, at time.Time) (bool, error) {
	return casMark(ctx, s.w, `UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL`, hash, at)
}

// ReplaceRecoveryKeys deletes a developer's recovery keys and stores keys instead.
func (s *Accounts) ReplaceRecoveryKeys(ctx context.Context, developerID string, keys []registry.RecoveryKey) error {
	return s.Tx(ctx, func(as registry.AccountStore) error {
		t := as.(*Accounts)
		if _, err := t.w.ExecContext(ctx, `DELETE FROM recovery_keys WHERE developer_id = $1`, developerID); err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := t.w.ExecContext(ctx, `INSERT INTO recovery_keys (id, developer_id, key_hash, created_at) VALUES ($1, $2, $3, $4)`,
				k.ID, developerID, k.Hash, store.Time(k.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
}

// UnusedRecoveryKeys returns a developer's unused recovery keys.
func (s *Accounts) UnusedRecoveryKeys(ctx context.Context, developerID string) ([]registry.RecoveryKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, developer_id, key_hash, created_at FROM recovery_keys WHERE developer_id = $1 AND used_at IS NULL ORDER BY id`, developerID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []registry.RecoveryKey
	for rows.Next() {
		var k registry.RecoveryKey
		if err := rows.Scan(&k.ID, &k.DeveloperID, &k.Hash, store.ScanTime(&k.CreatedAt)); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// MarkRecoveryKeyUsed marks a recovery key used, once.
func (s *Accounts) MarkRecoveryKeyUsed(ctx context.Context, id string, at time.Time) (bool, error) {
	return casMark(ctx, s.w, `UPDATE recovery_keys SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, at)
}

const apiKeyCols = `k.id, k.developer_id, k.name, k.prefix, k.key_hash, k.scopes, k.created_at, k.expires_at, k.last_used_at, k.revoked_at`

func apiKeyDest(k *registry.APIKey, scopes *string) []any {
	return []any{&k.ID, &k.DeveloperID, &k.Name, &k.Prefix, &k.Hash, scopes, store.ScanTime(&k.CreatedAt),
		store.ScanNullTime(&k.ExpiresAt), store.ScanNullTime(&k.LastUsedAt), store.ScanNullTime(&k.RevokedAt)}
}

func splitScopes(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// InsertAPIKey stores a new API key.
func (s *Accounts) InsertAPIKey(ctx context.Context, k *registry.APIKey) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO api_keys (id, developer_id, name, prefix, key_hash, scopes, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.ID, k.DeveloperID, k.Name, k.Prefix, k.Hash, strings.Join(k.Scopes, ","), store.Time(k.CreatedAt), store.NullTime(k.ExpiresAt))
	return err
}

// APIKeyDeveloper returns the API key with the hash and its developer in one query.
func (s *Accounts) APIKeyDeveloper(ctx context.Context, hash string) (*registry.APIKey, *registry.Developer, error) {
	var k registry.APIKey
	var scopes string
	d, err := scanDeveloper(s.r.QueryRowContext(ctx, `SELECT `+developerCols+`, `+apiKeyCols+`
		FROM api_keys k JOIN developers d ON d.id = k.developer_id WHERE k.key_hash = $1`, hash), apiKeyDest(&k, &scopes)...)
	if err != nil {
		return nil, nil, notFound(err, registry.ErrAPIKeyNotFound)
	}
	k.Scopes = splitScopes(scopes)
	return &k, d, nil
}

// APIKey returns a developer's API key by id.
func (s *Accounts) APIKey(ctx context.Context, developerID, id string) (*registry.APIKey, error) {
	var k registry.APIKey
	var scopes string
	err := s.r.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys k WHERE k.developer_id = $1 AND k.id = $2`, developerID, id).Scan(apiKeyDest(&k, &scopes)...)
	if err != nil {
		return nil, notFound(err, registry.ErrAPIKeyNotFound)
	}
	k.Scopes = splitScopes(scopes)
	return &k, nil
}

// ListAPIKeys returns up to limit of a developer's API keys with id > after, in id order.
func (s *Accounts) ListAPIKeys(ctx context.Context, developerID, after string, limit int) ([]registry.APIKey, error) {
	return store.ReadReplica(ctx, s.db, func(q store.Querier) ([]registry.APIKey, error) {
		rows, err := q.QueryContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys k WHERE k.developer_id = $1 AND k.id > $2 ORDER BY k.id LIMIT $3`, developerID, after, limit)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []registry.APIKey
		for rows.Next() {
			var k registry.APIKey
			var scopes string
			if err := rows.Scan(apiKeyDest(&k, &scopes)...); err != nil {
				return nil, err
			}
			k.Scopes = splitScopes(scopes)
			out = append(out, k)
		}
		return out, rows.Err()
	})
}

// CountActiveAPIKeys counts a developer's unrevoked API keys.
func (s *Accounts) CountActiveAPIKeys(ctx context.Context, developerID string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE developer_id = $1 AND revoked_at IS NULL`, developerID).Scan(&n)
	return n, err
}

// RevokeAPIKey revokes an API key.
func (s *Accounts) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, store.Time(at))
	return err
}

// TouchAPIKey records an API key's last use.
func (s *Accounts) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, id, store.Time(at))
	return err
}

// SigningKey returns the newest access-token signing key.
func (s *Accounts) SigningKey(ctx context.Context) (string, []byte, error) {
	var id string
	var key []byte
	err := s.r.QueryRowContext(ctx, `SELECT id, private_key FROM signing_keys ORDER BY created_at DESC, id DESC LIMIT 1`).Scan(&id, &key)
	if err != nil {
		return "", nil, notFound(err, errNotFound)
	}
	return id, key, nil
}

// InsertSigningKey stores a new signing key.
func (s *Accounts) InsertSigningKey(ctx context.Context, id, algorithm string, privateKey []byte, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO signing_keys (id, algorithm, private_key, created_at) VALUES ($1, $2, $3, $4)`, id, algorithm, privateKey, store.Time(at))
	return err
}
