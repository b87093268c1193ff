package fedhttp

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/tracing"
)

// MaxAnswerBytes bounds a peer's answer: a longer body is an error, not a hang or an
// allocation without end.
const MaxAnswerBytes = 4 << 20

// Client calls peers' live query, change feed and hint over mutual TLS: it presents this registry's X.509-SVID and
// accepts only a server whose SVID verifies against the peer's federated bundle and names a
// registry of the peer's trust domain (spiffe://<td>/registry/<name>).
type Client struct {
	// SVID is this registry's own X.509-SVID.
	SVID x509svid.Source
	// Bundles verifies peers' SVIDs (federation.Bundles).
	Bundles x509bundle.Source
	// Addresses, when set, refuses connections to addresses of denied networks (reported
	// with class address_forbidden).
	Addresses *federation.AddressPolicy

	mu      sync.Mutex
	clients map[string]*http.Client
}

var _ federation.Caller = (*Client)(nil)

func (c *Client) client(td spiffeid.TrustDomain) *http.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clients == nil {
		c.clients = map[string]*http.Client{}
	}
	hc, ok := c.clients[td.Name()]
	if !ok {
		tc := tlsconfig.MTLSClientConfig(c.SVID, c.Bundles, identity.AuthorizeKinds(td, identity.KindRegistry))
		tc.MinVersion = tls.VersionTLS13
		d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
		if c.Addresses != nil {
			d.Control = c.Addresses.Control
		}
		hc = &http.Client{Transport: tracing.Transport(&http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true, MaxIdleConnsPerHost: 16,
			IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 5 * time.Second, DialContext: d.DialContext})}
		c.clients[td.Name()] = hc
	}
	return hc
}

// Query asks peer p for q (the caller's context carries the deadline).
func (c *Client) Query(ctx context.Context, p federation.Peer, q federation.Query) ([]federation.Hit, []federation.PeerOutcome, error) {
	v := url.Values{}
	if q.Text != "" {
		v.Set("q", q.Text)
	}
	for _, t := range q.Tags {
		v.Add("tag", t)
	}
	for _, s := range q.Skills {
		v.Add("skill", s)
	}
	for _, s := range q.Capabilities {
		v.Add("capability", s)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	v.Set("hops", strconv.Itoa(q.Hops))
	if q.Budget > 0 {
		v.Set("budget_ms", strconv.FormatInt(q.Budget.Milliseconds(), 10))
	}
	for _, o := range q.Origins {
		v.Add("origin", o)
	}
	var a QueryAnswer
	if err := c.call(ctx, p, http.MethodGet, QueryPath, v, MaxAnswerBytes, &a); err != nil {
		return nil, nil, err
	}
	if a.Registry != p.TrustDomain {
		return nil, nil, &federation.CallError{Class: "bad_answer", Err: errors.New("peer answered as registry " + strconv.Quote(a.Registry))}
	}
	return a.Items, a.Peers, nil
}

// MaxChangesBytes bounds a page of a peer's change feed (its cards stop at
// federation.MaxPageCardBytes).
const MaxChangesBytes = 16 << 20

var _ federation.Puller = (*Client)(nil)

// Changes asks peer p for its card changes after cursor (the caller's context carries the
// deadline). A refusal of the cursor comes back as an *apperr.Error with the peer's code
// (federation.CodeCursorAhead, federation.CodeInvalidCursor) inside the CallError.
func (c *Client) Changes(ctx context.Context, p federation.Peer, cursor string, limit int) (federation.ChangePage, error) {
	v := url.Values{}
	if cursor != "" {
		v.Set("since", cursor)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(federation.ClampChangesLimit(limit)))
	}
	var page federation.ChangePage
	err := c.call(ctx, p, http.MethodGet, ChangesPath, v, MaxChangesBytes, &page)
	return page, err
}

// Hint tells peer p that this registry's cards changed.
func (c *Client) Hint(ctx context.Context, p federation.Peer) error {
	var a HintAnswer
	return c.call(ctx, p, http.MethodPost, HintPath, nil, 1<<10, &a)
}

// call makes one request to peer p over mutual TLS and decodes its JSON answer into out,
// reading at most maxBytes: transport failures, refusals, oversized or malformed answers are
// *federation.CallError.
func (c *Client) call(ctx context.Context, p federation.Peer, method, path string, v url.Values, maxBytes int64, out any) error {
	td, err := spiffeid.TrustDomainFromString(p.TrustDomain)
	if err != nil {
		return err
	}
	if c.SVID == nil {
		return &federation.CallError{Class: "no_svid", Err: errors.New("this registry has no X.509-SVID to present")}
	}
	u := p.BaseURL + path
	if len(v) > 0 {
		u += "?" + v.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.client(td).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		class := "unreachable"
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		var opErr *net.OpError
		if errors.Is(err, federation.ErrAddressForbidden) {
			class = "address_forbidden"
		} else if !errors.As(err, &opErr) || opErr.Op != "dial" {
			class = "tls_refused" // the handshake failed: the peer's SVID did not verify or is not its registry's
		}
		return &federation.CallError{Class: class, Err: err}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBytes+1))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &federation.CallError{Class: "bad_answer", Err: err}
	}
	if int64(len(body)) > maxBytes {
		return &federation.CallError{Class: "bad_answer", Err: fmt.Errorf("answer larger than %d bytes", maxBytes)}
	}
	if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusAccepted {
		var env struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &env)
		var cause error = fmt.Errorf("peer answered %d %s", res.StatusCode, env.Error.Code)
		if env.Error.Code != "" {
			cause = apperr.Errorf(apperr.BadRequest, env.Error.Code, "peer answered %d %s: %s", res.StatusCode, env.Error.Code, env.Error.Message)
		}
		return &federation.CallError{Class: "http_" + strconv.Itoa(res.StatusCode), Err: cause}
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &federation.CallError{Class: "bad_answer", Err: fmt.Errorf("peer answered garbage: %w", err)}
	}
	return nil
}
