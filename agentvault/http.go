package agentvault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sovereign-stack/sovereign/tracing"
)

// Limits of the HTTP clients.
const (
	// DefaultTimeout bounds one request of the registry and TEG clients (streams of the A2A
	// client are not bounded by it).
	DefaultTimeout = 30 * time.Second
	// maxResponseBytes bounds a response body read by the registry and TEG clients.
	maxResponseBytes = 16 << 20
	// maxErrorBytes bounds the part of an error body kept in an APIError without an envelope.
	maxErrorBytes = 512
)

// Credential adds a caller's credential to the headers of an outgoing request. BearerToken,
// APIKey and *TokenSource are Credentials; a2a.WithAuth takes a Credential's Apply.
type Credential interface {
	Apply(ctx context.Context, h http.Header) error
}

// BearerToken is a static bearer credential: a developer's access token or API key (avreg_…),
// or an agent's JWT. It sets "Authorization: Bearer <token>".
type BearerToken string

// Apply implements Credential.
func (t BearerToken) Apply(_ context.Context, h http.Header) error {
	if t == "" {
		return errors.New("agentvault: empty bearer token")
	}
	h.Set("Authorization", "Bearer "+string(t))
	return nil
}

// APIKey is an API key sent in a header (Header; DefaultAPIKeyHeader when empty).
type APIKey struct {
	Header string
	Key    string
}

// DefaultAPIKeyHeader is the header an API key goes in when nothing names another.
const DefaultAPIKeyHeader = "X-Api-Key"

// Apply implements Credential.
func (k APIKey) Apply(_ context.Context, h http.Header) error {
	if k.Key == "" {
		return errors.New("agentvault: empty API key")
	}
	name := k.Header
	if name == "" {
		name = DefaultAPIKeyHeader
	}
	h.Set(name, k.Key)
	return nil
}

// APIError is an error answer of the registry or the TEG: the stack's error envelope
// ({"error":{"code","message","details","request_id"}}) with its HTTP status. Answers without
// an envelope get the code "HTTP_<status>".
type APIError struct {
	Status    int
	Code      string
	Message   string
	Details   map[string]any
	RequestID string
}

// Error implements error.
func (e *APIError) Error() string {
	s := fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
	if e.RequestID != "" {
		s += " (" + e.RequestID + ")"
	}
	return s
}

// IsCode reports whether err is an *APIError with the given code.
func IsCode(err error, code string) bool {
	var e *APIError
	return errors.As(err, &e) && e.Code == code
}

// Option configures the clients of this package (NewRegistry, NewTEG, NewTokenSource,
// NewSVIDRenewer, NewClient). Each constructor uses the options that concern it and ignores the
// others.
type Option func(*settings)

type settings struct {
	hc       *http.Client
	hcSet    bool // hc came from WithHTTPClient
	now      func() time.Time
	log      *slog.Logger
	keys     KeyStore
	registry string
	bearer   Credential
	// caFile is the CA file of WithCAFile (caFileSet: given, even empty).
	caFile    string
	caFileSet bool
	// rt is the round tripper of the default clients (nil: http.DefaultTransport).
	rt http.RoundTripper
}

func newSettings(opts []Option) settings {
	s := settings{}
	for _, o := range opts {
		o(&s)
	}
	if !s.hcSet {
		s.rt = s.transport()
		s.hc = &http.Client{Timeout: DefaultTimeout, Transport: tracing.Transport(s.rt)}
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// WithHTTPClient sets the HTTP client requests go through (default: one with DefaultTimeout
// trusting WithCAFile's or $SOVEREIGN_CA_FILE's CA besides the system's; the A2A Client's
// default has no timeout, since streams are long-lived).
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) {
		if hc != nil {
			s.hc, s.hcSet = hc, true
		}
	}
}

// WithClock sets the clock token and SVID lifetimes are measured with (tests).
func WithClock(now func() time.Time) Option {
	return func(s *settings) { s.now = now }
}

// WithLogger sets where background work (SVID renewal, heartbeats) logs failures.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) { s.log = l }
}

// WithKeyStore sets the key store a Client takes API keys from (default: DefaultKeyStore()).
func WithKeyStore(ks KeyStore) Option {
	return func(s *settings) { s.keys = ks }
}

// WithRegistry sets the registry a Client resolves agent ids (agt_…) through.
func WithRegistry(baseURL string) Option {
	return func(s *settings) { s.registry = baseURL }
}

// WithBearer sets the caller's own bearer credential (usually an agent's *TokenSource). A
// Client sends it only to agents whose card asks for a bearer token (an HTTP bearer, OAuth 2
// or OpenID Connect security scheme), since the token is the caller's identity.
func WithBearer(c Credential) Option {
	return func(s *settings) { s.bearer = c }
}

// apiClient calls a JSON API of the stack: the registry or the TEG.
type apiClient struct {
	base string
	hc   *http.Client
	cred Credential
}

func newAPIClient(base string, cred Credential, hc *http.Client) apiClient {
	return apiClient{base: strings.TrimRight(base, "/"), hc: hc, cred: cred}
}

// do sends one request: in (when not nil) as a JSON body, the credential (when auth), headers
// hdr; a 2xx answer is decoded into out (when not nil), anything else becomes an *APIError.
func (c apiClient) do(ctx context.Context, method, path string, query url.Values, hdr http.Header, auth bool, in, out any) (int, error) {
	if c.base == "" {
		return 0, errors.New("agentvault: no base URL")
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("agentvault: encoding %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, fmt.Errorf("agentvault: %s %s: %w", method, path, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if auth {
		if c.cred == nil {
			return 0, fmt.Errorf("agentvault: %s %s needs a credential", method, path)
		}
		if err := c.cred.Apply(ctx, req.Header); err != nil {
			return 0, fmt.Errorf("agentvault: credential: %w", err)
		}
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("agentvault: %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("agentvault: reading %s %s: %w", method, path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, decodeAPIError(resp, data)
	}
	if out != nil && len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("agentvault: decoding %s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// decodeAPIError reads the error envelope of an answer.
func decodeAPIError(resp *http.Response, data []byte) *APIError {
	var env struct {
		Error *struct {
			Code      string         `json:"code"`
			Message   string         `json:"message"`
			Details   map[string]any `json:"details"`
			RequestID string         `json:"request_id"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &env) == nil && env.Error != nil && env.Error.Code != "" {
		return &APIError{Status: resp.StatusCode, Code: env.Error.Code, Message: env.Error.Message, Details: env.Error.Details,
			RequestID: env.Error.RequestID}
	}
	msg := strings.TrimSpace(string(data))
	if len(msg) > maxErrorBytes {
		msg = msg[:maxErrorBytes] + "…"
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &APIError{Status: resp.StatusCode, Code: fmt.Sprintf("HTTP_%d", resp.StatusCode), Message: msg,
		RequestID: resp.Header.Get("X-Request-Id")}
}
