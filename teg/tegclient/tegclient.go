// Package tegclient is teg.Wallets over HTTP: the registry's client of a TEG running in
// another process (split mode). It calls the TEG's token routes over mTLS with the
// registry's X.509-SVID, so the TEG authenticates the call as the registry's service subject
// and its policy decides as it would for the in-process teg.ServiceWallets. With a bearer
// credential (WithBearer) it is also the typed client of the staking routes (staking.go) that
// the CLI uses.
package tegclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/teghttp"
	"github.com/sovereign-stack/sovereign/tracing"
)

// Limits of a Client.
const (
	// DefaultTimeout bounds one call, connection included.
	DefaultTimeout = 10 * time.Second
	// MaxResponseBytes bounds a response body the client reads.
	MaxResponseBytes = 1 << 20
	// maxIdlePerHost is how many kept-alive connections the client holds to the TEG.
	maxIdlePerHost = 64
)

// Routes of the TEG the client calls.
const (
	pathOpen    = "/api/v1/admin/teg/accounts"
	pathGrant   = "/api/v1/token/grant"
	pathBalance = "/api/v1/token/balance"
	pathHistory = "/api/v1/token/transactions"
	pathHealth  = "/healthz"
)

// CodeTEGUnavailable is the code of the error a call gets when the TEG cannot be reached or
// answers with something that is not the API's envelope.
const CodeTEGUnavailable = "TEG_UNAVAILABLE"

// Client calls a TEG's token routes. It is safe for concurrent use.
type Client struct {
	base *url.URL
	http *http.Client
	// bearer, when set, is sent as "Authorization: Bearer …" (WithBearer).
	bearer string
}

var _ teg.Wallets = (*Client)(nil)

// New returns a client of the TEG at baseURL (https://host:port of its mTLS listener) that
// sends its calls through hc. Use NewMTLS for the usual mTLS client.
func New(baseURL string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("tegclient: TEG URL %q must be an https URL", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	return &Client{base: u, http: hc}, nil
}

// NewMTLS returns a client of the TEG at baseURL (https) that presents src's X.509-SVID and
// accepts only a server whose SVID verifies against src's bundle and is tegID. TLS 1.3 is the
// minimum; the SVID src holds at each handshake is the one presented, so its rotations need
// no restart, and connections already open carry on across them.
func NewMTLS(baseURL string, src identity.SVIDSource, tegID spiffeid.ID) (*Client, error) {
	if !strings.HasPrefix(baseURL, "https://") {
		return nil, fmt.Errorf("tegclient: TEG URL %q must be https (mTLS)", baseURL)
	}
	tr := &http.Transport{
		TLSClientConfig:     identity.MTLSClientConfig(src, tlsconfig.AuthorizeID(tegID)),
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: maxIdlePerHost,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: DefaultTimeout,
	}
	return New(baseURL, &http.Client{Transport: tracing.Transport(tr), Timeout: DefaultTimeout})
}

// WithBearer returns a copy of c that authenticates its calls with credential (an agent's
// JWT-SVID, an access token or an avreg_ API key) rather than by its connection alone: the
// client of the CLI and of programs that are not services.
func (c *Client) WithBearer(credential string) *Client {
	cp := *c
	cp.bearer = credential
	return &cp
}

// CloseIdleConnections closes the kept-alive connections to the TEG.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// OpenWallet implements teg.Wallets: POST /api/v1/admin/teg/accounts.
func (c *Client) OpenWallet(ctx context.Context, agent teg.AccountID, idemKey string) (teg.Account, error) {
	var v teghttp.AccountView
	if err := c.do(ctx, http.MethodPost, pathOpen, nil, map[string]string{"agent_id": string(agent)}, idemKey, &v); err != nil {
		return teg.Account{}, err
	}
	return account(v)
}

// Grant implements teg.Wallets: POST /api/v1/token/grant.
func (c *Client) Grant(ctx context.Context, to teg.AccountID, amount avt.Amount, message, idemKey string) (teg.Transfer, bool, error) {
	body := map[string]string{"to": string(to), "amount": amount.String()}
	if message != "" {
		body["message"] = message
	}
	return c.write(ctx, http.MethodPost, pathGrant, body, idemKey)
}

// Balance implements teg.Wallets: GET /api/v1/token/balance?account=….
func (c *Client) Balance(ctx context.Context, agent teg.AccountID) (teg.Account, error) {
	var v teghttp.AccountView
	if err := c.do(ctx, http.MethodGet, pathBalance, url.Values{"account": {string(agent)}}, nil, "", &v); err != nil {
		return teg.Account{}, err
	}
	return account(v)
}

// History implements teg.Wallets: GET /api/v1/token/transactions?account=…&limit=…&cursor=….
func (c *Client) History(ctx context.Context, agent teg.AccountID, before uint64, limit int) ([]teg.Transfer, error) {
	q := url.Values{"account": {string(agent)}, "limit": {strconv.Itoa(limit)}}
	if before > 0 {
		q.Set("cursor", httpapi.EncodeCursor(before))
	}
	var page teghttp.TransferPage
	if err := c.do(ctx, http.MethodGet, pathHistory, q, nil, "", &page); err != nil {
		return nil, err
	}
	out := make([]teg.Transfer, 0, len(page.Items))
	for _, v := range page.Items {
		t, err := transfer(v)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// SetStatus implements teg.Wallets: POST /api/v1/admin/teg/accounts/{account}/status.
func (c *Client) SetStatus(ctx context.Context, agent teg.AccountID, status teg.AccountStatus, idemKey string) (teg.Account, error) {
	var v teghttp.AccountView
	path := pathOpen + "/" + url.PathEscape(string(agent)) + "/status"
	if err := c.do(ctx, http.MethodPost, path, nil, map[string]string{"status": string(status)}, idemKey, &v); err != nil {
		return teg.Account{}, err
	}
	return account(v)
}

// Ping checks that the TEG answers its liveness route over the client's connection (mTLS
// included): what the registry's /readyz reports.
func (c *Client) Ping(ctx context.Context) error {
	return c.do(ctx, http.MethodGet, pathHealth, nil, nil, "", nil)
}

// do sends one call and decodes a 2xx answer into out, or the error envelope into an
// *apperr.Error with the TEG's code, message and details.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body any, idemKey string, out any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apperr.Internalf("tegclient: encode %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return apperr.Internalf("tegclient: %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return unavailable(fmt.Sprintf("the TEG at %s cannot be reached", c.base.Host), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return unavailable("reading the TEG's answer failed", err)
	}
	if len(data) > MaxResponseBytes {
		return unavailable("the TEG's answer is too large", nil)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return unavailable("the TEG's answer is not the expected JSON", err)
		}
		return nil
	}
	return envelopeError(resp.StatusCode, data)
}

// envelopeError turns an error envelope back into the *apperr.Error the TEG returned: same
// code, message and details, and the kind its status stands for.
func envelopeError(status int, data []byte) error {
	var env httpapi.Envelope
	if json.Unmarshal(data, &env) != nil || env.Body.Code == "" {
		return unavailable(fmt.Sprintf("the TEG answered %d without an error envelope", status), nil)
	}
	kind := httpapi.KindOfStatus(status)
	if kind == apperr.Internal {
		// The TEG's internal error is not ours to show as such: the dependency failed.
		return unavailable("the TEG failed: "+env.Body.Code, nil).With("teg_request_id", env.Body.RequestID)
	}
	e := apperr.New(kind, env.Body.Code, env.Body.Message)
	for k, v := range env.Body.Details {
		e = e.With(k, v)
	}
	if env.Body.RequestID != "" {
		e = e.With("teg_request_id", env.Body.RequestID)
	}
	return e
}

func unavailable(msg string, cause error) *apperr.Error {
	return &apperr.Error{Kind: apperr.Unavailable, Code: CodeTEGUnavailable, Message: msg, Err: cause}
}

func account(v teghttp.AccountView) (teg.Account, error) {
	a := teg.Account{ID: teg.AccountID(v.Account), CreatedAt: v.CreatedAt, Status: teg.AccountStatus(v.Status)}
	for _, p := range []struct {
		dst *avt.Amount
		s   string
	}{{&a.Liquid, v.Liquid}, {&a.Locked, v.Locked}, {&a.Staked, v.Staked}, {&a.Unbonding, v.Unbonding}} {
		x, err := avt.Parse(p.s)
		if err != nil {
			return teg.Account{}, unavailable("the TEG sent an invalid amount", err)
		}
		*p.dst = x
	}
	return a, nil
}

func transfer(v teghttp.TransferView) (teg.Transfer, error) {
	t := teg.Transfer{ID: v.ID, Kind: teg.Kind(v.Kind), From: teg.AccountID(v.From), To: teg.AccountID(v.To), Message: v.Message,
		PendingID: v.PendingID, State: teg.PendingState(v.State), ExpiresAt: v.ExpiresAt, Seq: v.Seq, CreatedAt: v.CreatedAt}
	var err error
	if t.Amount, err = avt.Parse(v.Amount); err != nil {
		return teg.Transfer{}, unavailable("the TEG sent an invalid amount", err)
	}
	if t.Fee, err = avt.Parse(v.Fee); err != nil {
		return teg.Transfer{}, unavailable("the TEG sent an invalid fee", err)
	}
	return t, nil
}
