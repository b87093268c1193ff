package registry

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/ids"
	"github.com/sovereign-stack/sovereign/policy"
)

// Accounts is the developer-account service: registration, email verification, login with
// rotating refresh tokens, recovery keys, API keys, profiles, and the authentication of
// requests. Every action on an account is authorized through the policy engine.
type Accounts struct {
	store  AccountStore
	mailer Mailer
	authz  policy.Decider
	signer *credential.TokenSigner
	// cookieKey authenticates web session cookies (SessionCookie); derived from the signing key,
	// so every replica on one database shares it.
	cookieKey []byte
	passwords *credential.Hasher
	verifyURL string
	log       *slog.Logger
	now       func() time.Time
	// dummyHash is verified against when a login names an unknown email, so that the answer
	// takes as long as for a known one.
	dummyHash string
}

// AccountsConfig configures NewAccounts.
type AccountsConfig struct {
	Store  AccountStore
	Mailer Mailer
	Authz  policy.Decider
	// Issuer names this registry in the tokens it signs (its public base URL).
	Issuer string
	// PublicURL is the base URL users reach the registry at; verification links point there.
	PublicURL string
	// PasswordParams are the argon2id costs (zero value: credential.DefaultPasswordParams).
	PasswordParams credential.PasswordParams
	// PasswordLimits bound the argon2id work of every hash and verification (registration,
	// login, recovery); beyond them a request fails with SERVER_BUSY (zero value:
	// credential.DefaultHashLimits).
	PasswordLimits credential.HashLimits
	Logger         *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewAccounts returns the account service. It loads the access-token signing key from the store,
// creating one on first use (so every replica on one database signs with the same key).
func NewAccounts(ctx context.Context, c AccountsConfig) (*Accounts, error) {
	if c.Store == nil || c.Mailer == nil || c.Authz == nil {
		return nil, errors.New("registry: NewAccounts needs a store, a mailer and an authorizer")
	}
	a := &Accounts{store: c.Store, mailer: c.Mailer, authz: c.Authz, log: c.Logger, now: c.Now}
	params := c.PasswordParams
	if params == (credential.PasswordParams{}) {
		params = credential.DefaultPasswordParams
	}
	a.passwords = credential.NewHasher(params, c.PasswordLimits)
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("registry: public URL %q is not an absolute URL", c.PublicURL)
	}
	a.verifyURL = u.JoinPath("/portal/verify").String()
	signer, err := a.loadSigner(ctx, c.Issuer)
	if err != nil {
		return nil, err
	}
	a.signer = signer.WithClock(a.now)
	if a.dummyHash, err = credential.HashPassword("not a real password", params); err != nil {
		return nil, err
	}
	return a, nil
}

// PasswordStats reports the load of the password hasher (for metrics).
func (a *Accounts) PasswordStats() credential.HashStats { return a.passwords.Stats() }

// hashPassword hashes password within the hasher's bound.
func (a *Accounts) hashPassword(ctx context.Context, password string) (string, error) {
	h, err := a.passwords.Hash(ctx, password)
	if err != nil {
		return "", passwordErr(err)
	}
	return h, nil
}

// verifyPassword checks password against hash within the hasher's bound.
func (a *Accounts) verifyPassword(ctx context.Context, password, hash string) (bool, error) {
	ok, err := a.passwords.Verify(ctx, password, hash)
	return ok, passwordErr(err)
}

// serverBusyRetrySeconds is the Retry-After of SERVER_BUSY: hashes take tens of milliseconds,
// so the budget frees up quickly once a burst passes.
const serverBusyRetrySeconds = 1

// passwordErr turns the hasher's ErrBusy into SERVER_BUSY; other errors (a cancelled request)
// pass through.
func passwordErr(err error) error {
	if errors.Is(err, credential.ErrBusy) {
		return ErrServerBusy.With("retry_after_seconds", serverBusyRetrySeconds)
	}
	return err
}

func (a *Accounts) loadSigner(ctx context.Context, issuer string) (*credential.TokenSigner, error) {
	var signer *credential.TokenSigner
	err := a.store.Tx(ctx, func(s AccountStore) error {
		id, key, err := s.SigningKey(ctx)
		if apperr.KindOf(err) == apperr.NotFound {
			_, priv, gerr := ed25519.GenerateKey(rand.Reader)
			if gerr != nil {
				return gerr
			}
			id, key = ids.New(ids.Signing), priv.Seed()
			err = s.InsertSigningKey(ctx, id, "EdDSA", key, a.clock())
		}
		if err != nil {
			return err
		}
		if len(key) != ed25519.SeedSize {
			return fmt.Errorf("registry: signing key %s is malformed", id)
		}
		signer = credential.NewTokenSigner(issuer, id, ed25519.NewKeyFromSeed(key))
		a.cookieKey = deriveCookieKey(key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("registry: load signing key: %w", err)
	}
	return signer, nil
}

// clock is now in UTC at microsecond precision (what both stores keep).
func (a *Accounts) clock() time.Time { return a.now().UTC().Truncate(time.Microsecond) }

// authorize asks the policy whether subject may take action on resource.
func (a *Accounts) authorize(ctx context.Context, subject policy.Subject, action string, res policy.Resource) error {
	return policy.Authorize(ctx, a.authz, policy.Input{Subject: subject, Action: action, Resource: res, Context: policy.Context{Time: a.clock()}})
}

// RegisterInput is what a new developer submits.
type RegisterInput struct {
	Email    string
	Name     string
	Password string
}

// Registration is the result of Register: the account and its recovery keys, shown only now.
type Registration struct {
	Developer    *Developer
	RecoveryKeys []string
}

// Register creates a developer account (unverified), its recovery keys and an email
// verification, all or nothing, then sends the verification email. A failure to send is logged
// and does not undo the account: the developer can ask for a new email.
func (a *Accounts) Register(ctx context.Context, in RegisterInput) (*Registration, error) {
	email, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, err
	}
	name, err := ValidateName(in.Name)
	if err != nil {
		return nil, err
	}
	if err := ValidatePassword(in.Password); err != nil {
		return nil, err
	}
	hash, err := a.hashPassword(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	now := a.clock()
	d := &Developer{ID: ids.New(ids.Developer), Email: email, Name: name, Role: RoleDeveloper, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	keys, records := newRecoveryKeys(d.ID, now)
	token, ver := newVerification(d.ID, now)
	err = a.store.Tx(ctx, func(s AccountStore) error {
		if err := s.InsertDeveloper(ctx, d); err != nil {
			return err
		}
		if err := s.ReplaceRecoveryKeys(ctx, d.ID, records); err != nil {
			return err
		}
		return s.InsertEmailVerification(ctx, ver)
	})
	if err != nil {
		return nil, err
	}
	a.sendVerification(ctx, d, token)
	return &Registration{Developer: d, RecoveryKeys: keys}, nil
}

func newRecoveryKeys(developerID string, now time.Time) ([]string, []RecoveryKey) {
	plain := make([]string, RecoveryKeyCount)
	recs := make([]RecoveryKey, RecoveryKeyCount)
	for i := range plain {
		p, h := credential.NewSecret(credential.RecoveryKeyPrefix)
		plain[i] = p
		recs[i] = RecoveryKey{ID: ids.New(ids.Recovery), DeveloperID: developerID, Hash: h, CreatedAt: now}
	}
	return plain, recs
}

func newVerification(developerID string, now time.Time) (string, *EmailVerification) {
	p, h := credential.NewSecret(credential.VerificationTokenPrefix)
	return p, &EmailVerification{Hash: h, DeveloperID: developerID, CreatedAt: now, ExpiresAt: now.Add(VerificationTTL)}
}

func (a *Accounts) sendVerification(ctx context.Context, d *Developer, token string) {
	link := a.verifyURL + "?token=" + url.QueryEscape(token)
	if err := a.mailer.SendVerification(ctx, d.Email, d.Name, link); err != nil {
		a.log.ErrorContext(ctx, "send verification email", "developer_id", d.ID, "err", err)
	}
}

// ResendVerification sends a new verification email to an unverified account. It answers the
// same whether or not the address has an account, so it cannot be used to probe for accounts.
func (a *Accounts) ResendVerification(ctx context.Context, email string) error {
	e, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	d, err := a.store.DeveloperByEmail(ctx, e)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if d.Verified() {
		return nil
	}
	token, ver := newVerification(d.ID, a.clock())
	if err := a.store.InsertEmailVerification(ctx, ver); err != nil {
		return err
	}
	a.sendVerification(ctx, d, token)
	return nil
}

// VerifyEmail marks the account of a verification token verified. A token works once and for
// VerificationTTL.
func (a *Accounts) VerifyEmail(ctx context.Context, token string) (*Developer, error) {
	if !credential.LooksLike(credential.VerificationTokenPrefix, token) {
		return nil, ErrVerificationToken
	}
	var out *Developer
	err := a.store.Tx(ctx, func(s AccountStore) error {
		v, err := s.EmailVerification(ctx, credential.HashSecret(token))
		if apperr.KindOf(err) == apperr.NotFound {
			return ErrVerificationToken
		}
		if err != nil {
			return err
		}
		now := a.clock()
		if v.UsedAt != nil {
			return ErrVerificationUsed
		}
		if !now.Before(v.ExpiresAt) {
			return ErrVerificationGone
		}
		if ok, err := s.MarkEmailVerificationUsed(ctx, v.Hash, now); err != nil || !ok {
			if err == nil {
				err = ErrVerificationUsed
			}
			return err
		}
		out, err = a.markVerified(ctx, s, v.DeveloperID, now)
		return err
	})
	return out, err
}

// VerifyEmailDirect marks the account with email verified without a token: the operator's
// command-line path (`sovereign developer verify EMAIL`), for installations without SMTP.
func (a *Accounts) VerifyEmailDirect(ctx context.Context, email string) (*Developer, error) {
	return a.byEmailDirect(ctx, email, func(s AccountStore, d *Developer) (*Developer, error) {
		return a.markVerified(ctx, s, d.ID, a.clock())
	})
}

func (a *Accounts) markVerified(ctx context.Context, s AccountStore, developerID string, now time.Time) (*Developer, error) {
	d, err := s.Developer(ctx, developerID)
	if err != nil {
		return nil, err
	}
	if d.EmailVerifiedAt == nil {
		d.EmailVerifiedAt = &now
		d.UpdatedAt = now
		if err := s.UpdateDeveloper(ctx, d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Tokens is what a login or a refresh returns.
type Tokens struct {
	AccessToken  string
	RefreshToken string
	ExpiresAt    time.Time
	SessionID    string
	Developer    *Developer
}

// Login checks email and password and starts a session. A wrong email and a wrong password
// get the same error after the same work.
func (a *Accounts) Login(ctx context.Context, email, password string) (*Tokens, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	d, err := a.store.DeveloperByEmail(ctx, e)
	if apperr.KindOf(err) == apperr.NotFound {
		if _, err := a.verifyPassword(ctx, password, a.dummyHash); err != nil {
			return nil, err
		}
		return nil, ErrInvalidCredential
	}
	if err != nil {
		return nil, err
	}
	if ok, err := a.verifyPassword(ctx, password, d.PasswordHash); err != nil || !ok {
		if err == nil {
			err = ErrInvalidCredential
		}
		return nil, err
	}
	if d.SuspendedAt != nil {
		return nil, ErrDeveloperSuspended
	}
	var out *Tokens
	err = a.store.Tx(ctx, func(s AccountStore) error {
		var err error
		out, err = a.startSession(ctx, s, d, a.clock())
		return err
	})
	return out, err
}

// startSession opens a session for d with its first refresh token, and issues its tokens.
func (a *Accounts) startSession(ctx context.Context, s AccountStore, d *Developer, now time.Time) (*Tokens, error) {
	sess := &Session{ID: ids.New(ids.Session), DeveloperID: d.ID, CreatedAt: now, ExpiresAt: now.Add(SessionTTL)}
	if err := s.InsertSession(ctx, sess); err != nil {
		return nil, err
	}
	refresh, err := a.newRefreshToken(ctx, s, sess, now)
	if err != nil {
		return nil, err
	}
	return a.issue(d, sess, refresh)
}

func (a *Accounts) newRefreshToken(ctx context.Context, s AccountStore, sess *Session, now time.Time) (string, error) {
	plain, hash := credential.NewSecret(credential.RefreshTokenPrefix)
	exp := now.Add(RefreshTokenTTL)
	if sess.ExpiresAt.Before(exp) {
		exp = sess.ExpiresAt
	}
	return plain, s.InsertRefreshToken(ctx, &RefreshToken{Hash: hash, SessionID: sess.ID, CreatedAt: now, ExpiresAt: exp})
}

func (a *Accounts) issue(d *Developer, sess *Session, refresh string) (*Tokens, error) {
	access, claims, err := a.signer.Issue(d.ID, sess.ID, ids.New("jti"))
	if err != nil {
		return nil, apperr.Internalf("issue access token: %w", err)
	}
	return &Tokens{AccessToken: access, RefreshToken: refresh, ExpiresAt: claims.ExpiresAt, SessionID: sess.ID, Developer: d}, nil
}

// Refresh exchanges a refresh token for a new access token and a new refresh token. Each refresh
// token works once: presenting one that was already exchanged means it leaked (or two clients
// raced), so the whole session is revoked and REFRESH_TOKEN_REUSED returned.
func (a *Accounts) Refresh(ctx context.Context, refreshToken string) (*Tokens, error) {
	if !credential.LooksLike(credential.RefreshTokenPrefix, refreshToken) {
		return nil, ErrRefreshInvalid
	}
	hash := credential.HashSecret(refreshToken)
	var (
		out    *Tokens
		reused bool
	)
	err := a.store.Tx(ctx, func(s AccountStore) error {
		reused = false
		rt, err := s.RefreshToken(ctx, hash)
		if apperr.KindOf(err) == apperr.NotFound {
			return ErrRefreshInvalid
		}
		if err != nil {
			return err
		}
		sess, d, err := s.SessionDeveloper(ctx, rt.SessionID)
		if err != nil {
			return err
		}
		now := a.clock()
		if sess.RevokedAt != nil {
			return ErrSessionRevoked
		}
		marked := false
		if rt.UsedAt == nil {
			if marked, err = s.MarkRefreshTokenUsed(ctx, hash, now); err != nil {
				return err
			}
		}
		if !marked {
			reused = true
			return s.RevokeSession(ctx, sess.ID, now, "refresh token reused")
		}
		if !now.Before(rt.ExpiresAt) || !now.Before(sess.ExpiresAt) {
			return ErrRefreshExpired
		}
		refresh, err := a.newRefreshToken(ctx, s, sess, now)
		if err != nil {
			return err
		}
		out, err = a.issue(d, sess, refresh)
		return err
	})
	if err != nil {
		return nil, err
	}
	if reused {
		a.log.WarnContext(ctx, "refresh token reused: session revoked")
		return nil, ErrRefreshReused
	}
	return out, nil
}

// Logout ends a session: the one refreshToken belongs to when given, else the caller's own.
func (a *Accounts) Logout(ctx context.Context, caller policy.Subject, refreshToken string) error {
	now := a.clock()
	if refreshToken != "" {
		if !credential.LooksLike(credential.RefreshTokenPrefix, refreshToken) {
			return ErrRefreshInvalid
		}
		rt, err := a.store.RefreshToken(ctx, credential.HashSecret(refreshToken))
		if apperr.KindOf(err) == apperr.NotFound {
			return ErrRefreshInvalid
		}
		if err != nil {
			return err
		}
		return a.store.RevokeSession(ctx, rt.SessionID, now, "logout")
	}
	if caller.AuthMethod != policy.AuthSession || caller.CredentialID == "" {
		return policy.ErrAuthRequired.With("hint", "log out with an access token, or send refresh_token in the body")
	}
	return a.store.RevokeSession(ctx, caller.CredentialID, now, "logout")
}

// RecoverInput is a password reset with a recovery key.
type RecoverInput struct {
	Email       string
	RecoveryKey string
	NewPassword string
}

// Recovery is the result of Recover.
type Recovery struct {
	// RemainingKeys is how many unused recovery keys the account has left.
	RemainingKeys int
	// Tokens are a new session's: recovery signs the owner in, so a login limit that a
	// guesser keeps exhausted for the email never locks the owner out.
	Tokens *Tokens
}

// Recover sets a new password for the account of email when recoveryKey is one of its unused
// recovery keys. The key is used up, every session of the account is revoked, and a new one
// started.
func (a *Accounts) Recover(ctx context.Context, in RecoverInput) (*Recovery, error) {
	e, err := NormalizeEmail(in.Email)
	if err != nil {
		return nil, err
	}
	if err := ValidatePassword(in.NewPassword); err != nil {
		return nil, err
	}
	if !credential.LooksLike(credential.RecoveryKeyPrefix, in.RecoveryKey) {
		return nil, ErrRecoveryInvalid
	}
	keyHash := credential.HashSecret(in.RecoveryKey)
	// A wrong key is refused before the new password is hashed, so guessed keys cost no
	// argon2id work; the transaction checks the key again.
	if _, _, _, err := recoveryKey(ctx, a.store, e, keyHash); err != nil {
		return nil, err
	}
	hash, err := a.hashPassword(ctx, in.NewPassword)
	if err != nil {
		return nil, err
	}
	var out *Recovery
	err = a.store.Tx(ctx, func(s AccountStore) error {
		d, key, unused, err := recoveryKey(ctx, s, e, keyHash)
		if err != nil {
			return err
		}
		now := a.clock()
		if ok, err := s.MarkRecoveryKeyUsed(ctx, key.ID, now); err != nil || !ok {
			if err == nil {
				err = ErrRecoveryInvalid
			}
			return err
		}
		d.PasswordHash, d.UpdatedAt = hash, now
		if err := s.UpdateDeveloper(ctx, d); err != nil {
			return err
		}
		if err := s.RevokeDeveloperSessions(ctx, d.ID, now, "password recovered"); err != nil {
			return err
		}
		t, err := a.startSession(ctx, s, d, now)
		if err != nil {
			return err
		}
		out = &Recovery{RemainingKeys: unused - 1, Tokens: t}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// recoveryKey returns the developer with email, its unused recovery key hashing to keyHash and
// how many unused keys it has, or ErrRecoveryInvalid when there is no such key.
func recoveryKey(ctx context.Context, s AccountStore, email, keyHash string) (*Developer, RecoveryKey, int, error) {
	d, err := s.DeveloperByEmail(ctx, email)
	if apperr.KindOf(err) == apperr.NotFound {
		return nil, RecoveryKey{}, 0, ErrRecoveryInvalid
	}
	if err != nil {
		return nil, RecoveryKey{}, 0, err
	}
	keys, err := s.UnusedRecoveryKeys(ctx, d.ID)
	if err != nil {
		return nil, RecoveryKey{}, 0, err
	}
	i := slices.IndexFunc(keys, func(k RecoveryKey) bool { return k.Hash == keyHash })
	if i < 0 {
		return nil, RecoveryKey{}, 0, ErrRecoveryInvalid
	}
	return d, keys[i], len(keys), nil
}

// RotateRecoveryKeys replaces the caller's recovery keys with RecoveryKeyCount new ones, shown
// only now.
func (a *Accounts) RotateRecoveryKeys(ctx context.Context, caller policy.Subject) ([]string, error) {
	if err := a.authorize(ctx, caller, policy.ActionRecoveryKeysRotate, developerResource(caller.ID)); err != nil {
		return nil, err
	}
	keys, records := newRecoveryKeys(caller.ID, a.clock())
	if err := a.store.ReplaceRecoveryKeys(ctx, caller.ID, records); err != nil {
		return nil, err
	}
	return keys, nil
}

// developerResource is the developer account id as the policy sees it: owned by itself. An id
// that names no developer account (an agent's own id, when an agent asks for its "me") has no
// owner, so the policy's owner rules cannot grant it anything.
func developerResource(id string) policy.Resource {
	r := policy.Resource{Kind: "developer", ID: id}
	if strings.HasPrefix(id, ids.Developer+"_") {
		r.Owner = id
	}
	return r
}

// Profile returns the developer with id, as caller may see it.
func (a *Accounts) Profile(ctx context.Context, caller policy.Subject, id string) (*Developer, error) {
	if err := a.authorize(ctx, caller, policy.ActionDeveloperRead, developerResource(id)); err != nil {
		return nil, err
	}
	return a.store.Developer(ctx, id)
}

// ProfileUpdate is a change to a profile; nil fields stay as they are.
type ProfileUpdate struct {
	Name *string
}

// UpdateProfile changes the caller's own profile.
func (a *Accounts) UpdateProfile(ctx context.Context, caller policy.Subject, id string, u ProfileUpdate) (*Developer, error) {
	if err := a.authorize(ctx, caller, policy.ActionDeveloperUpdate, developerResource(id)); err != nil {
		return nil, err
	}
	var name string
	if u.Name != nil {
		var err error
		if name, err = ValidateName(*u.Name); err != nil {
			return nil, err
		}
	}
	var out *Developer
	err := a.store.Tx(ctx, func(s AccountStore) error {
		d, err := s.Developer(ctx, id)
		if err != nil {
			return err
		}
		if u.Name != nil && name != d.Name {
			d.Name, d.UpdatedAt = name, a.clock()
			if err := s.UpdateDeveloper(ctx, d); err != nil {
				return err
			}
		}
		out = d
		return nil
	})
	return out, err
}

// ListDevelopers returns a page of all developers (admins only), in id order after the id after.
func (a *Accounts) ListDevelopers(ctx context.Context, caller policy.Subject, after string, limit int) ([]Developer, error) {
	if err := a.authorize(ctx, caller, policy.ActionDeveloperList, policy.Resource{Kind: "developer"}); err != nil {
		return nil, err
	}
	return a.store.ListDevelopers(ctx, after, limit)
}

// NewAPIKey is a request for an API key.
type NewAPIKey struct {
	Name      string
	Scopes    []string
	ExpiresAt *time.Time
}

// CreateAPIKey creates an API key for the caller and returns it with its secret, shown only now.
// Scopes default to read and write.
func (a *Accounts) CreateAPIKey(ctx context.Context, caller policy.Subject, in NewAPIKey) (*APIKey, string, error) {
	if err := a.authorize(ctx, caller, policy.ActionAPIKeyCreate, developerResource(caller.ID)); err != nil {
		return nil, "", err
	}
	name, err := ValidateName(in.Name)
	if err != nil {
		return nil, "", apperr.New(apperr.Invalid, "INVALID_NAME", "name must be 1 to 100 printable characters").With("field", "name")
	}
	scopes, err := normalizeScopes(in.Scopes)
	if err != nil {
		return nil, "", err
	}
	now := a.clock()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return nil, "", errInvalidExpiry.With("field", "expires_at")
	}
	plain, hash := credential.NewSecret(credential.APIKeyPrefix)
	k := &APIKey{ID: ids.New(ids.APIKey), DeveloperID: caller.ID, Name: name, Prefix: credential.DisplayPrefix(credential.APIKeyPrefix, plain),
		Hash: hash, Scopes: scopes, CreatedAt: now}
	if in.ExpiresAt != nil {
		e := in.ExpiresAt.UTC().Truncate(time.Microsecond)
		k.ExpiresAt = &e
	}
	err = a.store.Tx(ctx, func(s AccountStore) error {
		n, err := s.CountActiveAPIKeys(ctx, caller.ID)
		if err != nil {
			return err
		}
		if n >= MaxAPIKeysPerDev {
			return ErrTooManyAPIKeys
		}
		return s.InsertAPIKey(ctx, k)
	})
	if err != nil {
		return nil, "", err
	}
	return k, plain, nil
}

func normalizeScopes(in []string) ([]string, error) {
	if len(in) == 0 {
		return []string{policy.ScopeRead, policy.ScopeWrite}, nil
	}
	var out []string
	for _, s := range in {
		if s != policy.ScopeRead && s != policy.ScopeWrite {
			return nil, errInvalidScope.With("field", "scopes").With("scope", s)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out, nil
}

// ListAPIKeys returns a page of the caller's API keys (revoked ones included, marked), in id
// order after the id after.
func (a *Accounts) ListAPIKeys(ctx context.Context, caller policy.Subject, after string, limit int) ([]APIKey, error) {
	if err := a.authorize(ctx, caller, policy.ActionAPIKeyList, developerResource(caller.ID)); err != nil {
		return nil, err
	}
	return a.store.ListAPIKeys(ctx, caller.ID, after, limit)
}

// RevokeAPIKey revokes one of the caller's API keys. Revoking a revoked key is a no-op.
func (a *Accounts) RevokeAPIKey(ctx context.Context, caller policy.Subject, id string) (*APIKey, error) {
	if err := a.authorize(ctx, caller, policy.ActionAPIKeyRevoke, developerResource(caller.ID)); err != nil {
		return nil, err
	}
	var out *APIKey
	err := a.store.Tx(ctx, func(s AccountStore) error {
		k, err := s.APIKey(ctx, caller.ID, id)
		if err != nil {
			return err
		}
		if k.RevokedAt == nil {
			now := a.clock()
			if err := s.RevokeAPIKey(ctx, k.ID, now); err != nil {
				return err
			}
			k.RevokedAt = &now
		}
		out = k
		return nil
	})
	return out, err
}

// AuthenticateAccessToken checks an access token and its session and returns the subject it
// speaks for.
func (a *Accounts) AuthenticateAccessToken(ctx context.Context, token string) (policy.Subject, error) {
	c, err := a.signer.Parse(token)
	if err != nil {
		if errors.Is(err, credential.ErrTokenExpired) {
			return policy.Subject{}, ErrTokenExpired
		}
		return policy.Subject{}, ErrTokenInvalid
	}
	sess, d, err := a.store.SessionDeveloper(ctx, c.SessionID)
	if apperr.KindOf(err) == apperr.NotFound {
		return policy.Subject{}, ErrTokenInvalid
	}
	if err != nil {
		return policy.Subject{}, err
	}
	if sess.RevokedAt != nil {
		return policy.Subject{}, ErrSessionRevoked
	}
	if sess.DeveloperID != c.Subject {
		return policy.Subject{}, ErrTokenInvalid
	}
	if d.SuspendedAt != nil {
		return policy.Subject{}, ErrDeveloperSuspended
	}
	return subjectOf(d, policy.AuthSession, sess.ID, []string{policy.ScopeRead, policy.ScopeWrite}), nil
}

// AuthenticateAPIKey checks an API key and returns the subject it speaks for. It records the
// key's last use (at most once a minute, so reads stay reads).
func (a *Accounts) AuthenticateAPIKey(ctx context.Context, key string) (policy.Subject, error) {
	if !credential.LooksLike(credential.APIKeyPrefix, key) {
		return policy.Subject{}, ErrAPIKeyInvalid
	}
	k, d, err := a.store.APIKeyDeveloper(ctx, credential.HashSecret(key))
	if apperr.KindOf(err) == apperr.NotFound {
		return policy.Subject{}, ErrAPIKeyInvalid
	}
	if err != nil {
		return policy.Subject{}, err
	}
	now := a.clock()
	if k.RevokedAt != nil {
		return policy.Subject{}, ErrAPIKeyRevoked
	}
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return policy.Subject{}, ErrAPIKeyExpired
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= apiKeyTouchInterval {
		if err := a.store.TouchAPIKey(ctx, k.ID, now); err != nil {
			a.log.WarnContext(ctx, "record API key use", "key_id", k.ID, "err", err)
		}
	}
	if d.SuspendedAt != nil {
		return policy.Subject{}, ErrDeveloperSuspended
	}
	return subjectOf(d, policy.AuthAPIKey, k.ID, k.Scopes), nil
}

func subjectOf(d *Developer, method, credentialID string, scopes []string) policy.Subject {
	roles := []string{policy.RoleDeveloper}
	if d.Role == RoleAdmin {
		roles = append(roles, policy.RoleAdmin)
	}
	return policy.Subject{Kind: policy.KindDeveloper, ID: d.ID, Roles: roles, AuthMethod: method,
		Scopes: scopes, Verified: d.Verified(), CredentialID: credentialID}
}

// EnsureAdmin makes sure an admin account exists. When none does, it creates one with email
// (verified, no usable password) and an API key, and returns the key's secret; otherwise it
// returns "".
func (a *Accounts) EnsureAdmin(ctx context.Context, email string) (string, error) {
	e, err := NormalizeEmail(email)
	if err != nil {
		return "", err
	}
	var plain string
	err = a.store.Tx(ctx, func(s AccountStore) error {
		n, err := s.CountAdmins(ctx)
		if err != nil || n > 0 {
			return err
		}
		now := a.clock()
		d := &Developer{ID: ids.New(ids.Developer), Email: e, Name: "Administrator", Role: RoleAdmin,
			PasswordHash: credential.UnusablePasswordHash, EmailVerifiedAt: &now, CreatedAt: now, UpdatedAt: now}
		if err := s.InsertDeveloper(ctx, d); err != nil {
			return err
		}
		var hash string
		plain, hash = credential.NewSecret(credential.APIKeyPrefix)
		return s.InsertAPIKey(ctx, &APIKey{ID: ids.New(ids.APIKey), DeveloperID: d.ID, Name: "admin (created by sovereign up)",
			Prefix: credential.DisplayPrefix(credential.APIKeyPrefix, plain), Hash: hash,
			Scopes: []string{policy.ScopeRead, policy.ScopeWrite}, CreatedAt: now})
	})
	if err != nil {
		return "", err
	}
	return plain, nil
}
