package agentvault

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/spiffe/go-spiffe/v2/bundle/jwtbundle"
	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/reputation"
	"github.com/sovereign-stack/sovereign/tracing"
)

// TrustBundlePath is where a stack publishes its SPIFFE trust bundle.
const TrustBundlePath = "/.well-known/spiffe-bundle"

// FetchTrustBundle reads the trust bundle a stack publishes at registry+TrustBundlePath for the
// trust domain td (e.g. "sovereign.test"). Keep it: VerifyReputation needs nothing else, so
// signed reputations verify offline; fetch it again when a statement's key id is unknown (the
// stack rotates its keys, keeping the old ones in the bundle for a while).
func FetchTrustBundle(ctx context.Context, client *http.Client, registry, td string) (*spiffebundle.Bundle, error) {
	trust, err := spiffeid.TrustDomainFromString(td)
	if err != nil {
		return nil, fmt.Errorf("trust domain %q: %w", td, err)
	}
	if client == nil {
		client = defaultHTTPClient
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(registry, "/")+TrustBundlePath, nil)
	if err != nil {
		return nil, err
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("trust bundle: HTTP %d", res.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return spiffebundle.Parse(trust, raw)
}

// VerifyReputation checks a signed reputation (GET /api/v1/reputation/{agent}/attestation, or
// the one an agent presents) against a trust bundle and returns the agent, score and tier it
// states: the signature by the stack's TEG, the expiry and the statement's form, offline.
func VerifyReputation(token string, bundle jwtbundle.Source) (reputation.PortableReputation, error) {
	return reputation.VerifyPortable(token, bundle)
}

// defaultHTTPClient fetches trust bundles when the caller gives no client: http.DefaultClient's
// transport, sending the trace context.
var defaultHTTPClient = &http.Client{Transport: tracing.Transport(nil)}
