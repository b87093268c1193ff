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

	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/tracing"
)

// MaxAnswerBytes bounds a peer's answer: a longer body is an error, not a hang or an
// allocation without end.
const MaxAnswerBytes = 4 << 20

// Client calls peers' live query over mutual TLS: it presents this registry's X.509-SVID and
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
	td, err := spiffeid.TrustDomainFromString(p.TrustDomain)
	if err != nil {
		return nil, nil, err
	}
	if c.SVID == nil {
		return nil, nil, &federation.CallError{Class: "no_svid", Err: errors.New("this registry has no X.509-SVID to present")}
	}
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.BaseURL+QueryPath+"?"+v.Encode(), nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	res, err := c.client(td).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
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
		return nil, nil, &federation.CallError{Class: class, Err: err}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, MaxAnswerBytes+1))
	if err != nil {
		return nil, nil, &federation.CallError{Class: "bad_answer", Err: err}
	}
	if len(body) > MaxAnswerBytes {
		return nil, nil, &federation.CallError{Class: "bad_answer", Err: fmt.Errorf("answer larger than %d bytes", MaxAnswerBytes)}
	}
	if res.StatusCode != http.StatusOK {
		var env struct {
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		_ = json.Unmarshal(body, &env)
		return nil, nil, &federation.CallError{Class: "http_" + strconv.Itoa(res.StatusCode), Err: fmt.Errorf("peer answered %d %s", res.StatusCode, env.Error.Code)}
	}
	var a QueryAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, nil, &federation.CallError{Class: "bad_answer", Err: fmt.Errorf("peer answered garbage: %w", err)}
	}
	if a.Registry != p.TrustDomain {
		return nil, nil, &federation.CallError{Class: "bad_answer", Err: errors.New("peer answered as registry " + strconv.Quote(a.Registry))}
	}
	return a.Items, a.Peers, nil
}
