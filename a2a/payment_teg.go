package a2a

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/avt"
	"github.com/sovereign-stack/sovereign/tracing"
)

// maxTEGResponse bounds a response body of the TEG.
const maxTEGResponse = 4 << 20

// TEGLedger is PaymentLedger over the TEG's token routes (teg/teghttp), acting as the agent
// whose wallet is Account (the payee):
//
//   - Hold reads GET /api/v1/token/pending/{id}: the pending transfer by id, which its payee
//     (the agent) may read — one point read, whatever else its wallet did since (reading it from
//     the wallet's history let anyone push a hold out of reach with dust transfers).
//   - Post and Void are POST /api/v1/token/pending/{id}:post and …:void with the
//     Idempotency-Key header.
//
// The TEG authorizes every call: Auth must add the agent's credentials (a JWT-SVID as a bearer
// token, or an API key). Note that the TEG's policy decides who may settle a pending transfer
// (token.pending.settle); an agent can post the holds paid to it only where the policy lets the
// payee settle.
type TEGLedger struct {
	// BaseURL is the TEG's address (http://127.0.0.1:8080).
	BaseURL string
	// Account is the agent's wallet.
	Account string
	// HTTPClient sends the requests (http.DefaultClient when nil).
	HTTPClient *http.Client
	// Auth adds credentials to each request's headers.
	Auth func(ctx context.Context, h http.Header) error
}

var _ PaymentLedger = (*TEGLedger)(nil)

// TEGError is an error envelope of the TEG: the HTTP status and the stable code.
type TEGError struct {
	Status  int
	Code    string
	Message string
}

// Error implements error.
func (e *TEGError) Error() string {
	return fmt.Sprintf("teg: %d %s: %s", e.Status, e.Code, e.Message)
}

// tegTransfer is the TEG's TransferView, the fields a hold needs.
type tegTransfer struct {
	ID        string     `json:"id"`
	Kind      string     `json:"kind"`
	From      string     `json:"from"`
	To        string     `json:"to"`
	Amount    string     `json:"amount"`
	State     string     `json:"state"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// Hold implements PaymentLedger.
func (l *TEGLedger) Hold(ctx context.Context, id string) (Hold, error) {
	var t tegTransfer
	err := l.call(ctx, http.MethodGet, "/api/v1/token/pending/"+url.PathEscape(id), "", &t)
	var te *TEGError
	if errors.As(err, &te) && te.Code == "PENDING_NOT_FOUND" {
		return Hold{}, fmt.Errorf("%w: %s", ErrHoldNotFound, id)
	}
	if err != nil {
		return Hold{}, err
	}
	if t.ID != id || t.Kind != "pending" {
		return Hold{}, fmt.Errorf("teg: asked for pending transfer %s, got %s %s", id, t.Kind, t.ID)
	}
	return holdFromTEG(t)
}

func holdFromTEG(t tegTransfer) (Hold, error) {
	a, err := avt.Parse(t.Amount)
	if err != nil {
		return Hold{}, fmt.Errorf("teg: pending transfer %s: amount %q: %w", t.ID, t.Amount, err)
	}
	// The TEG names its pending states as HoldState does, but for "active".
	h := Hold{ID: t.ID, From: t.From, To: t.To, Amount: a, State: HoldState(t.State)}
	if t.State == "active" {
		h.State = HoldHeld
	}
	if t.ExpiresAt != nil {
		h.ExpiresAt = *t.ExpiresAt
	}
	return h, nil
}

// Post implements PaymentLedger.
func (l *TEGLedger) Post(ctx context.Context, id, idempotencyKey string) error {
	return l.settle(ctx, id, "post", idempotencyKey)
}

// Void implements PaymentLedger.
func (l *TEGLedger) Void(ctx context.Context, id, idempotencyKey string) error {
	return l.settle(ctx, id, "void", idempotencyKey)
}

func (l *TEGLedger) settle(ctx context.Context, id, verb, key string) error {
	err := l.call(ctx, http.MethodPost, "/api/v1/token/pending/"+url.PathEscape(id)+":"+verb, key, nil)
	var te *TEGError
	if errors.As(err, &te) && te.Code == "PENDING_NOT_FOUND" {
		return fmt.Errorf("%w: %s", ErrHoldNotFound, id)
	}
	return err
}

// call sends one request and decodes a 2xx answer into out (nil: ignored); other answers are
// *TEGError.
func (l *TEGLedger) call(ctx context.Context, method, path, idemKey string, out any) error {
	var body io.Reader
	if method == http.MethodPost {
		body = bytes.NewReader([]byte("{}"))
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(l.BaseURL, "/")+path, body)
	if err != nil {
		return fmt.Errorf("teg: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	if l.Auth != nil {
		if err := l.Auth(ctx, req.Header); err != nil {
			return fmt.Errorf("teg: auth: %w", err)
		}
	}
	hc := l.HTTPClient
	if hc == nil {
		hc = tegHTTPClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("teg: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxTEGResponse))
	if err != nil {
		return fmt.Errorf("teg: reading %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		te := &TEGError{Status: resp.StatusCode, Code: "HTTP_" + strconv.Itoa(resp.StatusCode), Message: http.StatusText(resp.StatusCode)}
		var env struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &env) == nil && env.Error.Code != "" {
			te.Code, te.Message = env.Error.Code, env.Error.Message
		}
		return te
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("teg: decoding %s %s: %w", method, path, err)
	}
	return nil
}

// tegHTTPClient calls the TEG when the ledger is given no client: http.DefaultClient's
// transport, sending the trace context.
var tegHTTPClient = &http.Client{Transport: tracing.Transport(nil)}
