package agentvault

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
)

// TEG is a typed client of the token economy's routes (/api/v1/token/…), acting with an
// agent's credential (its *TokenSource). Amounts are avt.Amount (18 decimals, exact), carried
// as decimal strings on the wire. Writes carry an Idempotency-Key — the caller's, or a new
// random one — and a write whose request failed in transit (no answer) is sent once more with
// the same key, so it happens at most once. Pending is the exception: it gets a key only from
// the caller (see Pending). Safe for concurrent use.
type TEG struct {
	api apiClient
}

// NewTEG returns a client of the TEG at baseURL (the registry's URL in the embedded stack)
// acting with cred.
func NewTEG(baseURL string, cred Credential, opts ...Option) *TEG {
	s := newSettings(opts)
	return &TEG{api: newAPIClient(baseURL, cred, s.hc)}
}

// Balance is an account's balances.
type Balance struct {
	Account   string     `json:"account"`
	Liquid    avt.Amount `json:"liquid"`
	Locked    avt.Amount `json:"locked"`
	Staked    avt.Amount `json:"staked"`
	Unbonding avt.Amount `json:"unbonding"`
	Total     avt.Amount `json:"total"`
	CreatedAt time.Time  `json:"created_at"`
}

// Transfer is a ledger transfer: a payment, a hold (kind pending, State pending until posted
// or voided), a post or void of one, a grant ….
type Transfer struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	From      string     `json:"from,omitempty"`
	To        string     `json:"to,omitempty"`
	Amount    avt.Amount `json:"amount"`
	Fee       avt.Amount `json:"fee"`
	Message   string     `json:"message,omitempty"`
	PendingID string     `json:"pending_id,omitempty"`
	State     string     `json:"state,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	Seq       uint64     `json:"seq"`
	CreatedAt time.Time  `json:"created_at"`
	// Replayed is true when the answer repeats the first result of the same Idempotency-Key.
	Replayed bool `json:"replayed,omitempty"`
}

// TransferPage is a page of an account's transfers, newest first.
type TransferPage struct {
	Items      []Transfer `json:"items"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// WriteOptions are the optional parts of a write.
type WriteOptions struct {
	// Message is kept with the transfer (at most 256 bytes).
	Message string
	// IdempotencyKey makes the write idempotent: a replay gets the first result, the same key
	// with another body 409 IDEMPOTENCY_KEY_REUSED. Empty: a new random key.
	IdempotencyKey string
}

// Balance returns the balances of account ("" for the caller's own).
func (t *TEG) Balance(ctx context.Context, account string) (*Balance, error) {
	q := url.Values{}
	if account != "" {
		q.Set("account", account)
	}
	b := &Balance{}
	if _, err := t.api.do(ctx, http.MethodGet, "/api/v1/token/balance", q, nil, true, nil, b); err != nil {
		return nil, err
	}
	return b, nil
}

// History returns a page of account's transfers, newest first ("" for the caller's own;
// limit 0 for the registry's default; cursor from the previous page's NextCursor).
func (t *TEG) History(ctx context.Context, account string, limit int, cursor string) (*TransferPage, error) {
	q := url.Values{}
	if account != "" {
		q.Set("account", account)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	p := &TransferPage{}
	if _, err := t.api.do(ctx, http.MethodGet, "/api/v1/token/transactions", q, nil, true, nil, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Transfer pays amount from the caller's wallet to the wallet to (plus the fee).
func (t *TEG) Transfer(ctx context.Context, to string, amount avt.Amount, o WriteOptions) (*Transfer, error) {
	body := map[string]any{"to": to, "amount": amount}
	if o.Message != "" {
		body["message"] = o.Message
	}
	return t.write(ctx, "/api/v1/token/transfer", o.IdempotencyKey, body)
}

// Pending holds amount from the caller's wallet for to (two-phase): nothing moves until Post,
// and Void — or the timeout (0: the TEG's default, an hour) — releases it.
//
// Unlike the other writes, Pending makes up no Idempotency-Key (and so is not retried) when
// o has none: the TEG names a keyed hold "idem:<caller>:<key>", and its settle route
// (…/pending/{id}:post) cannot parse an id with colons in it yet, so a keyed hold could not be
// posted or voided.
func (t *TEG) Pending(ctx context.Context, to string, amount avt.Amount, timeout time.Duration, o WriteOptions) (*Transfer, error) {
	body := map[string]any{"to": to, "amount": amount}
	if o.Message != "" {
		body["message"] = o.Message
	}
	if timeout > 0 {
		body["timeout_seconds"] = int((timeout + time.Second - 1) / time.Second)
	}
	if o.IdempotencyKey == "" {
		out := &Transfer{}
		if _, err := t.api.do(ctx, http.MethodPost, "/api/v1/token/pending", nil, nil, true, body, out); err != nil {
			return nil, err
		}
		return out, nil
	}
	return t.write(ctx, "/api/v1/token/pending", o.IdempotencyKey, body)
}

// Post completes the hold pendingID: the whole amount, or only amount when not nil (the rest is
// released).
func (t *TEG) Post(ctx context.Context, pendingID string, amount *avt.Amount, idempotencyKey string) (*Transfer, error) {
	var body any
	if amount != nil {
		body = map[string]any{"amount": *amount}
	}
	return t.write(ctx, "/api/v1/token/pending/"+url.PathEscape(pendingID)+":post", idempotencyKey, body)
}

// Void releases the hold pendingID.
func (t *TEG) Void(ctx context.Context, pendingID, idempotencyKey string) (*Transfer, error) {
	return t.write(ctx, "/api/v1/token/pending/"+url.PathEscape(pendingID)+":void", idempotencyKey, nil)
}

// write POSTs a value-moving request with an Idempotency-Key, retrying once with the same key
// when no answer came back.
func (t *TEG) write(ctx context.Context, path, key string, body any) (*Transfer, error) {
	if key == "" {
		key = newIdempotencyKey()
	}
	hdr := http.Header{"Idempotency-Key": {key}}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		out := &Transfer{}
		var status int
		status, err = t.api.do(ctx, http.MethodPost, path, nil, hdr, true, body, out)
		if err == nil {
			return out, nil
		}
		var apiErr *APIError
		if status != 0 || errors.As(err, &apiErr) || ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, err
}

// newIdempotencyKey is 128 random bits, base64url.
func newIdempotencyKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "av_" + base64.RawURLEncoding.EncodeToString(b)
}
