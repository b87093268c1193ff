// Package registryhttp serves the registry's domain over HTTP: it decodes requests, calls the
// registry services with the authenticated subject, and encodes the answers. It holds no
// business rules and no authorization checks of its own (the services ask the policy).
package registryhttp

import (
	"context"
	"net/http"
	"net/netip"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/credential"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/registry"
)

// The rate-limit classes of logins. An attempt counts first against its (email, client
// address) pair, then against the email's looser ceiling: a guesser exhausts only its own
// pair, so the owner still logs in from elsewhere, while guessing spread over many addresses
// meets the ceiling. Attempts refused by the pair do not count against the ceiling.
const (
	// RateLoginEmailAddress counts login attempts naming one email from one client address.
	RateLoginEmailAddress = "login_email_address"
	// RateLoginEmail counts login attempts naming one email, whoever makes them.
	RateLoginEmail = "login_email"
)

// Accounts serves the developer-account routes under /api/v1/auth and /api/v1/developers.
type Accounts struct {
	Service *registry.Accounts
	Limits  *httpapi.RateLimits
}

// DeveloperView is a developer account as the API shows it.
type DeveloperView struct {
	ID              string     `json:"id" example:"dev_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C"`
	Email           string     `json:"email" example:"ada@example.com"`
	Name            string     `json:"name" example:"Ada Lovelace"`
	Role            string     `json:"role" enum:"developer,admin"`
	EmailVerified   bool       `json:"email_verified"`
	EmailVerifiedAt *time.Time `json:"email_verified_at,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	// SuspendedAt is when an admin suspended the account (absent: active).
	SuspendedAt *time.Time `json:"suspended_at,omitempty"`
}

func developerView(d *registry.Developer) DeveloperView {
	return DeveloperView{ID: d.ID, Email: d.Email, Name: d.Name, Role: string(d.Role), EmailVerified: d.Verified(),
		EmailVerifiedAt: d.EmailVerifiedAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt, SuspendedAt: d.SuspendedAt}
}

// APIKeyView is an API key as the API shows it (never its secret, except Key at creation).
type APIKeyView struct {
	ID         string     `json:"id" example:"key_01JDZ5V3R6Q9WQ2Y7N8K4T1B0C"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix" doc:"First characters of the key, to tell keys apart" example:"avreg_3kF9xQ"`
	Scopes     []string   `json:"scopes"`
	Status     string     `json:"status" enum:"active,revoked,expired"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func apiKeyView(k *registry.APIKey, now time.Time) APIKeyView {
	status := "active"
	switch {
	case k.RevokedAt != nil:
		status = "revoked"
	case k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		status = "expired"
	}
	return APIKeyView{ID: k.ID, Name: k.Name, Prefix: k.Prefix, Scopes: k.Scopes, Status: status, CreatedAt: k.CreatedAt,
		ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

// TokenBody is the answer to a login or refresh.
type TokenBody struct {
	AccessToken  string        `json:"access_token" doc:"JWT (EdDSA), valid 15 minutes"`
	TokenType    string        `json:"token_type" example:"Bearer"`
	ExpiresIn    int           `json:"expires_in" doc:"Seconds until the access token expires" example:"900"`
	ExpiresAt    time.Time     `json:"expires_at"`
	RefreshToken string        `json:"refresh_token" doc:"Single-use; exchange it at /api/v1/auth/refresh for a new pair"`
	Developer    DeveloperView `json:"developer"`
}

func tokenBody(t *registry.Tokens) TokenBody {
	return TokenBody{AccessToken: t.AccessToken, TokenType: "Bearer", ExpiresIn: int(credential.AccessTokenTTL.Seconds()),
		ExpiresAt: t.ExpiresAt, RefreshToken: t.RefreshToken, Developer: developerView(t.Developer)}
}

type registerInput struct {
	Body struct {
		Email    string `json:"email" maxLength:"1024" doc:"Your email address; a verification link is sent to it"`
		Name     string `json:"name" maxLength:"1024"`
		Password string `json:"password" maxLength:"4096" doc:"At least 12 characters"`
	}
}

type registerOutput struct {
	Body struct {
		Developer    DeveloperView `json:"developer"`
		RecoveryKeys []string      `json:"recovery_keys" doc:"Three single-use keys to reset a lost password. Shown only now: store them safely."`
		Next         string        `json:"next" doc:"What to do next"`
	}
}

type tokenOutput struct{ Body TokenBody }

type loginInput struct {
	Body struct {
		Email    string `json:"email" maxLength:"1024"`
		Password string `json:"password" maxLength:"4096"`
	}
}

type refreshInput struct {
	Body struct {
		RefreshToken string `json:"refresh_token" maxLength:"256"`
	}
}

type logoutInput struct {
	Body *struct {
		RefreshToken string `json:"refresh_token,omitempty" maxLength:"256" doc:"End the session of this refresh token (else the caller's own session)"`
	} `required:"false"`
}

type verifyInput struct {
	Token string `query:"token" required:"true" maxLength:"256" doc:"The token from the verification link"`
}

type developerOutput struct {
	ETag string `header:"ETag"`
	Body DeveloperView
}

type resendInput struct {
	Body struct {
		Email string `json:"email" maxLength:"1024"`
	}
}

type acceptedOutput struct {
	Body struct {
		Status string `json:"status"`
	}
}

type recoverInput struct {
	Body struct {
		Email       string `json:"email" maxLength:"1024"`
		RecoveryKey string `json:"recovery_key" maxLength:"256"`
		NewPassword string `json:"new_password" maxLength:"4096"`
	}
}

type recoverOutput struct {
	Body struct {
		TokenBody
		RemainingRecoveryKeys int    `json:"remaining_recovery_keys"`
		Next                  string `json:"next"`
	}
}

type recoveryKeysOutput struct {
	Body struct {
		RecoveryKeys []string `json:"recovery_keys" doc:"Shown only now; the previous keys no longer work"`
	}
}

type meInput struct {
	IfNoneMatch string `header:"If-None-Match"`
}

type updateMeInput struct {
	Body struct {
		Name *string `json:"name,omitempty" maxLength:"1024"`
	}
}

type developerIDInput struct {
	ID          string `path:"id" maxLength:"64"`
	IfNoneMatch string `header:"If-None-Match"`
}

type listDevelopersInput struct {
	httpapi.PageParams
	IfNoneMatch string `header:"If-None-Match"`
}

// DeveloperPage is a page of developers.
type DeveloperPage struct {
	Items      []DeveloperView `json:"items"`
	NextCursor string          `json:"next_cursor,omitempty"`
}

type developerPageOutput struct {
	ETag string `header:"ETag"`
	Body DeveloperPage
}

type createKeyInput struct {
	Body struct {
		Name      string     `json:"name" maxLength:"1024"`
		Scopes    []string   `json:"scopes,omitempty" maxItems:"8" doc:"read, write (default both)"`
		ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"RFC 3339; omit for a key that does not expire"`
	}
}

type createKeyOutput struct {
	Body struct {
		APIKeyView
		Key string `json:"key" doc:"The API key. Shown only now: store it safely."`
	}
}

type listKeysInput struct {
	httpapi.PageParams
}

// APIKeyPage is a page of API keys.
type APIKeyPage struct {
	Items      []APIKeyView `json:"items"`
	NextCursor string       `json:"next_cursor,omitempty"`
}

type keyPageOutput struct{ Body APIKeyPage }

type keyIDInput struct {
	ID string `path:"id" maxLength:"64"`
}

func authOp(id, method, path, summary string, status int) huma.Operation {
	return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{"auth"},
		DefaultStatus: status, Metadata: map[string]any{httpapi.MetaRateClass: httpapi.RateAuth}}
}

func devOp(id, method, path, summary string, status int) huma.Operation {
	return huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary, Tags: []string{"developers"},
		DefaultStatus: status, Security: httpapi.Authenticated}
}

// Register adds the account routes to api.
func (h *Accounts) Register(api huma.API) {
	httpapi.Register(api, authOp("register", http.MethodPost, "/api/v1/auth/register", "Create a developer account", http.StatusCreated), h.register)
	httpapi.Register(api, authOp("verify-email", http.MethodGet, "/api/v1/auth/verify-email", "Verify an email address with the emailed token", http.StatusOK), h.verifyEmail)
	httpapi.Register(api, authOp("resend-verification", http.MethodPost, "/api/v1/auth/verify-email/resend", "Send a new verification email", http.StatusAccepted), h.resend)
	httpapi.Register(api, authOp("login", http.MethodPost, "/api/v1/auth/login", "Log in with email and password", http.StatusOK), h.login)
	httpapi.Register(api, authOp("refresh", http.MethodPost, "/api/v1/auth/refresh", "Exchange a refresh token for a new token pair", http.StatusOK), h.refresh)
	httpapi.Register(api, authOp("recover", http.MethodPost, "/api/v1/auth/recover", "Set a new password with a recovery key (signs you in)", http.StatusOK), h.recoverAccount)
	logout := devOp("logout", http.MethodPost, "/api/v1/auth/logout", "End a session", http.StatusNoContent)
	logout.Tags = []string{"auth"}
	httpapi.Register(api, logout, h.logout)

	httpapi.Register(api, devOp("get-me", http.MethodGet, "/api/v1/developers/me", "Your profile", http.StatusOK), h.me)
	httpapi.Register(api, devOp("update-me", http.MethodPatch, "/api/v1/developers/me", "Change your profile", http.StatusOK), h.updateMe)
	httpapi.Register(api, devOp("rotate-recovery-keys", http.MethodPost, "/api/v1/developers/me/recovery-keys", "Replace your recovery keys (login session only)", http.StatusCreated), h.rotateRecovery)
	httpapi.Register(api, devOp("list-api-keys", http.MethodGet, "/api/v1/developers/me/api-keys", "Your API keys", http.StatusOK), h.listKeys)
	httpapi.Register(api, devOp("create-api-key", http.MethodPost, "/api/v1/developers/me/api-keys", "Create an API key (login session only)", http.StatusCreated), h.createKey)
	httpapi.Register(api, devOp("revoke-api-key", http.MethodDelete, "/api/v1/developers/me/api-keys/{id}", "Revoke an API key", http.StatusNoContent), h.revokeKey)
	httpapi.Register(api, devOp("list-developers", http.MethodGet, "/api/v1/developers", "All developers (admin)", http.StatusOK), h.listDevelopers)
	httpapi.Register(api, devOp("get-developer", http.MethodGet, "/api/v1/developers/{id}", "One developer (admin, or yourself)", http.StatusOK), h.getDeveloper)
	httpapi.Register(api, devOp("set-developer-status", http.MethodPost, "/api/v1/developers/{id}/status",
		"Suspend or reactivate a developer account (admin): a suspension ends its sessions and refuses its API keys", http.StatusOK), h.setDeveloperStatus)
}

func (h *Accounts) register(ctx context.Context, in *registerInput) (*registerOutput, error) {
	reg, err := h.Service.Register(ctx, registry.RegisterInput{Email: in.Body.Email, Name: in.Body.Name, Password: in.Body.Password})
	if err != nil {
		return nil, err
	}
	out := &registerOutput{}
	out.Body.Developer = developerView(reg.Developer)
	out.Body.RecoveryKeys = reg.RecoveryKeys
	out.Body.Next = "open the link sent to your email to verify it, then POST /api/v1/auth/login"
	return out, nil
}

func (h *Accounts) verifyEmail(ctx context.Context, in *verifyInput) (*developerOutput, error) {
	d, err := h.Service.VerifyEmail(ctx, in.Token)
	if err != nil {
		return nil, err
	}
	return &developerOutput{Body: developerView(d)}, nil
}

func (h *Accounts) resend(ctx context.Context, in *resendInput) (*acceptedOutput, error) {
	if err := h.Service.ResendVerification(ctx, in.Body.Email); err != nil {
		return nil, err
	}
	out := &acceptedOutput{}
	out.Body.Status = "if an unverified account has this email, a new verification email is on its way"
	return out, nil
}

func (h *Accounts) login(ctx context.Context, in *loginInput) (*tokenOutput, error) {
	email, err := registry.NormalizeEmail(in.Body.Email)
	if err != nil {
		return nil, err
	}
	if err := h.checkLogin(ctx, email); err != nil {
		return nil, err
	}
	t, err := h.Service.Login(ctx, email, in.Body.Password)
	if err != nil {
		return nil, err
	}
	return &tokenOutput{Body: tokenBody(t)}, nil
}

// CheckLogin is checkLogin for the portal's login form: the same budgets as the API's login.
func (h *Accounts) CheckLogin(ctx context.Context, email string) error {
	return h.checkLogin(ctx, email)
}

// checkLogin counts a login attempt for email against its (email, address) budget, then the
// email's ceiling. A refusal answers alike whether or not an account has the email, and tells
// the owner the way in that no guesser can block: a recovery key.
func (h *Accounts) checkLogin(ctx context.Context, email string) error {
	err := h.Limits.Check(ctx, RateLoginEmailAddress, "login|"+email+"|"+addressKey(httpapi.ClientAddr(ctx)))
	if err == nil {
		err = h.Limits.Check(ctx, RateLoginEmail, "login|"+email)
	}
	if ae, ok := apperr.As(err); ok && ae.Kind == apperr.TooManyRequests {
		ae = ae.With("recover", "POST /api/v1/auth/recover")
		ae.Message = "too many login attempts for this email; retry after Retry-After seconds, or set a new password " +
			"with one of your recovery keys at POST /api/v1/auth/recover, which also signs you in"
		return ae
	}
	return err
}

// addressKey is the part of a login limit key naming the client address: the address, or for
// IPv6 its /64 prefix (one host commonly holds a whole /64, so its addresses are one guesser).
func addressKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil || ip.Unmap().Is4() {
		return addr
	}
	p, err := ip.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}

func (h *Accounts) refresh(ctx context.Context, in *refreshInput) (*tokenOutput, error) {
	t, err := h.Service.Refresh(ctx, in.Body.RefreshToken)
	if err != nil {
		return nil, err
	}
	return &tokenOutput{Body: tokenBody(t)}, nil
}

func (h *Accounts) logout(ctx context.Context, in *logoutInput) (*struct{}, error) {
	refresh := ""
	if in.Body != nil {
		refresh = in.Body.RefreshToken
	}
	return &struct{}{}, h.Service.Logout(ctx, httpapi.Subject(ctx), refresh)
}

func (h *Accounts) recoverAccount(ctx context.Context, in *recoverInput) (*recoverOutput, error) {
	rec, err := h.Service.Recover(ctx, registry.RecoverInput{Email: in.Body.Email, RecoveryKey: in.Body.RecoveryKey, NewPassword: in.Body.NewPassword})
	if err != nil {
		return nil, err
	}
	out := &recoverOutput{}
	out.Body.TokenBody = tokenBody(rec.Tokens)
	out.Body.RemainingRecoveryKeys = rec.RemainingKeys
	out.Body.Next = "you are signed in with a new session (every earlier one has ended); log in with the new password from now on, " +
		"and replace your recovery keys at POST /api/v1/developers/me/recovery-keys when few remain"
	return out, nil
}

func (h *Accounts) me(ctx context.Context, in *meInput) (*developerOutput, error) {
	caller := httpapi.Subject(ctx)
	d, err := h.Service.Profile(ctx, caller, caller.ID)
	if err != nil {
		return nil, err
	}
	return withETag(in.IfNoneMatch, developerView(d))
}

func withETag(ifNoneMatch string, v DeveloperView) (*developerOutput, error) {
	etag, err := httpapi.CheckETag(ifNoneMatch, v)
	if err != nil {
		return nil, err
	}
	return &developerOutput{ETag: etag, Body: v}, nil
}

func (h *Accounts) updateMe(ctx context.Context, in *updateMeInput) (*developerOutput, error) {
	caller := httpapi.Subject(ctx)
	d, err := h.Service.UpdateProfile(ctx, caller, caller.ID, registry.ProfileUpdate{Name: in.Body.Name})
	if err != nil {
		return nil, err
	}
	return withETag("", developerView(d))
}

func (h *Accounts) rotateRecovery(ctx context.Context, _ *struct{}) (*recoveryKeysOutput, error) {
	keys, err := h.Service.RotateRecoveryKeys(ctx, httpapi.Subject(ctx))
	if err != nil {
		return nil, err
	}
	out := &recoveryKeysOutput{}
	out.Body.RecoveryKeys = keys
	return out, nil
}

func (h *Accounts) listKeys(ctx context.Context, in *listKeysInput) (*keyPageOutput, error) {
	page, next, err := httpapi.PageByID(in.Cursor, in.Limit, func(after string, n int) ([]registry.APIKey, error) {
		return h.Service.ListAPIKeys(ctx, httpapi.Subject(ctx), after, n)
	}, func(k registry.APIKey) string { return k.ID })
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := &keyPageOutput{Body: APIKeyPage{Items: make([]APIKeyView, 0, len(page)), NextCursor: next}}
	for i := range page {
		out.Body.Items = append(out.Body.Items, apiKeyView(&page[i], now))
	}
	return out, nil
}

func (h *Accounts) createKey(ctx context.Context, in *createKeyInput) (*createKeyOutput, error) {
	k, plain, err := h.Service.CreateAPIKey(ctx, httpapi.Subject(ctx), registry.NewAPIKey{Name: in.Body.Name, Scopes: in.Body.Scopes, ExpiresAt: in.Body.ExpiresAt})
	if err != nil {
		return nil, err
	}
	out := &createKeyOutput{}
	out.Body.APIKeyView = apiKeyView(k, time.Now())
	out.Body.Key = plain
	return out, nil
}

func (h *Accounts) revokeKey(ctx context.Context, in *keyIDInput) (*struct{}, error) {
	_, err := h.Service.RevokeAPIKey(ctx, httpapi.Subject(ctx), in.ID)
	return &struct{}{}, err
}

func (h *Accounts) listDevelopers(ctx context.Context, in *listDevelopersInput) (*developerPageOutput, error) {
	page, next, err := httpapi.PageByID(in.Cursor, in.Limit, func(after string, n int) ([]registry.Developer, error) {
		return h.Service.ListDevelopers(ctx, httpapi.Subject(ctx), after, n)
	}, func(d registry.Developer) string { return d.ID })
	if err != nil {
		return nil, err
	}
	body := DeveloperPage{Items: make([]DeveloperView, 0, len(page)), NextCursor: next}
	for i := range page {
		body.Items = append(body.Items, developerView(&page[i]))
	}
	etag, err := httpapi.CheckETag(in.IfNoneMatch, body)
	if err != nil {
		return nil, err
	}
	return &developerPageOutput{ETag: etag, Body: body}, nil
}

type developerStatusInput struct {
	ID   string `path:"id" maxLength:"64"`
	Body struct {
		Status string `json:"status" enum:"active,suspended" doc:"suspended, or active to reactivate"`
	}
}

func (h *Accounts) setDeveloperStatus(ctx context.Context, in *developerStatusInput) (*developerOutput, error) {
	d, err := h.Service.SetDeveloperSuspended(ctx, httpapi.Subject(ctx), in.ID, in.Body.Status == "suspended")
	if err != nil {
		return nil, err
	}
	return &developerOutput{Body: developerView(d)}, nil
}

func (h *Accounts) getDeveloper(ctx context.Context, in *developerIDInput) (*developerOutput, error) {
	d, err := h.Service.Profile(ctx, httpapi.Subject(ctx), in.ID)
	if err != nil {
		return nil, err
	}
	return withETag(in.IfNoneMatch, developerView(d))
}
