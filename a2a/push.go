package a2a

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/sovereign-stack/sovereign/a2a/a2apb"
	"github.com/sovereign-stack/sovereign/identity/ed25519strict"
	"github.com/sovereign-stack/sovereign/tracing"
)

// PushSender delivers push notifications for a Server.
type PushSender interface {
	// Check reports whether cfg may be stored: its URL must satisfy the sender's policy. A
	// refusal is an *Error with CodeInvalidParams saying why.
	Check(ctx context.Context, cfg *a2apb.TaskPushNotificationConfig) error
	// Send delivers one event to cfg's webhook, retrying as its policy says; it returns once
	// the event is delivered or the sender has given up (the error says why).
	Send(ctx context.Context, cfg *a2apb.TaskPushNotificationConfig, ev *a2apb.StreamResponse) error
}

// Headers of a push-notification request.
const (
	// HeaderPushSignature carries the detached JWS (EdDSA) over the request body.
	HeaderPushSignature = "X-A2A-Signature"
	// HeaderNotificationToken carries the config's token, so the receiver can tell the
	// notification belongs to a task it asked about.
	HeaderNotificationToken = "X-A2A-Notification-Token"
)

// Webhook delivery defaults and bounds.
const (
	DefaultPushAttempts       = 5
	DefaultPushInitialBackoff = 250 * time.Millisecond
	DefaultPushMaxBackoff     = 10 * time.Second
	DefaultPushTimeout        = 10 * time.Second
	maxPushAttempts           = 20
	maxPushBodyBytes          = 8 << 20 // the largest body VerifyPush reads
	resolveTimeout            = 3 * time.Second
)

// WebhookConfig configures NewWebhookSender.
type WebhookConfig struct {
	// Key signs every request (required); KeyID names it in the JWS header ("kid"), so a
	// receiver that knows several keys picks the right one.
	Key   ed25519.PrivateKey
	KeyID string
	// AllowPrivate permits webhooks on loopback, private, link-local and other non-public
	// addresses. Off, such URLs are refused when configured and such addresses when dialed (a
	// name that later resolves to one is refused too).
	AllowPrivate bool
	// Attempts is how many times one event is tried (DefaultPushAttempts; at most 20). A
	// network error, 408, 429 or 5xx is retried after a backoff that starts at InitialBackoff
	// and doubles up to MaxBackoff, with jitter; any other status ends the delivery.
	Attempts                   int
	InitialBackoff, MaxBackoff time.Duration
	// Timeout bounds one attempt (DefaultPushTimeout).
	Timeout time.Duration
	// Now is the clock for the signature's "iat" (time.Now when nil).
	Now func() time.Time
}

// WebhookSender is the PushSender that POSTs each event, as StreamResponse ProtoJSON, to the
// config's URL: signed with a detached JWS in HeaderPushSignature, with the config's token in
// HeaderNotificationToken and its authentication (scheme and credentials) as Authorization.
// Receivers check requests with VerifyPush.
type WebhookSender struct {
	cfg    WebhookConfig
	client *http.Client
}

var _ PushSender = (*WebhookSender)(nil)

// NewWebhookSender returns a WebhookSender; cfg.Key is required.
func NewWebhookSender(cfg WebhookConfig) (*WebhookSender, error) {
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("a2a: WebhookConfig.Key must be an Ed25519 private key")
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultPushAttempts
	}
	cfg.Attempts = min(cfg.Attempts, maxPushAttempts)
	if cfg.InitialBackoff <= 0 {
		cfg.InitialBackoff = DefaultPushInitialBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = DefaultPushMaxBackoff
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultPushTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	dialer := &net.Dialer{Timeout: cfg.Timeout}
	if !cfg.AllowPrivate {
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return err
			}
			if !publicAddr(ap.Addr()) {
				return fmt.Errorf("a2a: push to non-public address %s refused", ap.Addr())
			}
			return nil
		}
	}
	tr := &http.Transport{DialContext: dialer.DialContext, Proxy: nil, MaxIdleConnsPerHost: 4,
		IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: cfg.Timeout, ForceAttemptHTTP2: true}
	client := &http.Client{Transport: tracing.Transport(tr), Timeout: cfg.Timeout,
		// A redirect could lead anywhere, including past the address policy's intent: none.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &WebhookSender{cfg: cfg, client: client}, nil
}

// cgnat is the shared address space (RFC 6598), not routable on the internet.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// publicAddr reports whether a is a public unicast address.
func publicAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && !a.IsLoopback() && !a.IsPrivate() && !a.IsLinkLocalUnicast() && !a.IsLinkLocalMulticast() &&
		!a.IsInterfaceLocalMulticast() && !a.IsMulticast() && !a.IsUnspecified() && !cgnat.Contains(a) &&
		!(a.Is4() && a.As4()[0] == 0)
}

// Check implements PushSender: the URL must be absolute http(s) without user info; unless
// AllowPrivate, its host must not be or resolve to a non-public address.
func (w *WebhookSender) Check(ctx context.Context, cfg *a2apb.TaskPushNotificationConfig) error {
	u, err := url.Parse(cfg.GetUrl())
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return invalidParams("push notification url %q must be an absolute http(s) URL without user info", cfg.GetUrl())
	}
	if a := cfg.GetAuthentication(); a != nil && (a.GetScheme() == "" || strings.ContainsAny(a.GetScheme()+a.GetCredentials(), "\r\n")) {
		return invalidParams("push notification authentication needs a scheme and no line breaks")
	}
	if strings.ContainsAny(cfg.GetToken(), "\r\n") {
		return invalidParams("push notification token must not contain line breaks")
	}
	if w.cfg.AllowPrivate {
		return nil
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if !publicAddr(a) {
			return invalidParams("push notification url %q points to a private, loopback or link-local address, which this agent's policy forbids", cfg.GetUrl())
		}
		return nil
	}
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return invalidParams("push notification url %q points to localhost, which this agent's policy forbids", cfg.GetUrl())
	}
	rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(rctx, "ip", host)
	if err != nil {
		return invalidParams("push notification url %q: cannot resolve %s", cfg.GetUrl(), host)
	}
	for _, a := range addrs {
		if !publicAddr(a) {
			return invalidParams("push notification url %q resolves to %s, a non-public address, which this agent's policy forbids", cfg.GetUrl(), a)
		}
	}
	return nil
}

// Send implements PushSender.
func (w *WebhookSender) Send(ctx context.Context, cfg *a2apb.TaskPushNotificationConfig, ev *a2apb.StreamResponse) error {
	body, err := protojson.Marshal(ev)
	if err != nil {
		return fmt.Errorf("a2a: encode push event: %w", err)
	}
	sig, err := w.sign(body)
	if err != nil {
		return err
	}
	backoff := w.cfg.InitialBackoff
	var last error
	for attempt := 1; attempt <= w.cfg.Attempts; attempt++ {
		retry, err := w.post(ctx, cfg, body, sig)
		if err == nil {
			return nil
		}
		last = err
		if !retry || attempt == w.cfg.Attempts {
			break
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		select {
		case <-ctx.Done():
			return errors.Join(last, ctx.Err())
		case <-time.After(wait):
		}
		backoff = min(2*backoff, w.cfg.MaxBackoff)
	}
	return fmt.Errorf("a2a: push to %s: %w", redactURL(cfg.GetUrl()), last)
}

// post makes one attempt and says whether a failure is worth retrying.
func (w *WebhookSender) post(ctx context.Context, cfg *a2apb.TaskPushNotificationConfig, body []byte, sig string) (retry bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.GetUrl(), bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderPushSignature, sig)
	if t := cfg.GetToken(); t != "" {
		req.Header.Set(HeaderNotificationToken, t)
	}
	if a := cfg.GetAuthentication(); a != nil && a.GetScheme() != "" {
		req.Header.Set("Authorization", strings.TrimSpace(a.GetScheme()+" "+a.GetCredentials()))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return ctx.Err() == nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return false, nil
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests || c >= 500:
		return true, fmt.Errorf("webhook answered %s", resp.Status)
	default:
		return false, fmt.Errorf("webhook answered %s", resp.Status)
	}
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(invalid url)"
	}
	u.RawQuery, u.User = "", nil
	return u.String()
}

type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid,omitempty"`
	Iat int64  `json:"iat"`
}

var jwsB64 = base64.RawURLEncoding

// sign returns the detached compact JWS (RFC 7515 appendix F) over body: header..signature.
func (w *WebhookSender) sign(body []byte) (string, error) {
	h, err := json.Marshal(jwsHeader{Alg: "EdDSA", Kid: w.cfg.KeyID, Iat: w.cfg.Now().Unix()})
	if err != nil {
		return "", err
	}
	hb := jwsB64.EncodeToString(h)
	sig := ed25519.Sign(w.cfg.Key, []byte(hb+"."+jwsB64.EncodeToString(body)))
	return hb + ".." + jwsB64.EncodeToString(sig), nil
}

// VerifyPush checks a push-notification request a WebhookSender made: it reads the body (and
// puts it back, so r.Body can be read again), verifies the detached EdDSA JWS in
// HeaderPushSignature against pub (strictly: ed25519strict.Verify), and returns the event. The notification token and
// Authorization header are for the receiver to check; so is freshness (the JWS header's "iat",
// which the signature covers) if replays matter to it.
func VerifyPush(r *http.Request, pub ed25519.PublicKey) (*a2apb.StreamResponse, error) {
	if err := ed25519strict.CheckPublicKey(pub); err != nil {
		return nil, fmt.Errorf("a2a: VerifyPush: not a usable Ed25519 public key: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPushBodyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("a2a: read push body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if len(body) > maxPushBodyBytes {
		return nil, errors.New("a2a: push body too large")
	}
	hb, rest, ok := strings.Cut(r.Header.Get(HeaderPushSignature), ".")
	sb, detached := strings.CutPrefix(rest, ".")
	if !ok || !detached || hb == "" || sb == "" {
		return nil, errors.New("a2a: push signature missing or not a detached JWS")
	}
	hj, err := jwsB64.DecodeString(hb)
	if err != nil {
		return nil, errors.New("a2a: push signature header is not base64url")
	}
	var h jwsHeader
	if err := json.Unmarshal(hj, &h); err != nil || h.Alg != "EdDSA" {
		return nil, errors.New("a2a: push signature header: want alg EdDSA")
	}
	sig, err := jwsB64.DecodeString(sb)
	if err != nil || !ed25519strict.Verify(pub, []byte(hb+"."+jwsB64.EncodeToString(body)), sig) {
		return nil, errors.New("a2a: push signature does not verify")
	}
	var ev a2apb.StreamResponse
	if err := protojson.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("a2a: push body: %w", err)
	}
	return &ev, nil
}

// PushSignedAt returns the signing time ("iat") of a push request's signature, without
// verifying it; call it after VerifyPush to judge freshness.
func PushSignedAt(r *http.Request) (time.Time, error) {
	hb, _, _ := strings.Cut(r.Header.Get(HeaderPushSignature), ".")
	hj, err := jwsB64.DecodeString(hb)
	if err != nil {
		return time.Time{}, errors.New("a2a: push signature header is not base64url")
	}
	var h jwsHeader
	if err := json.Unmarshal(hj, &h); err != nil {
		return time.Time{}, errors.New("a2a: push signature header is not JSON")
	}
	return time.Unix(h.Iat, 0), nil
}
