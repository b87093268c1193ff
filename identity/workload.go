package identity

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"

	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/jwtsvid"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"
)

// EndpointSocketEnv is the environment variable that names the SPIFFE Workload API endpoint
// (for example unix:///run/spire/agent/public/api.sock), as the SPIFFE Workload Endpoint
// specification defines it.
const EndpointSocketEnv = "SPIFFE_ENDPOINT_SOCKET"

// WorkloadConfig says how a service reaches the SPIFFE Workload API and which of its SVIDs it
// uses.
type WorkloadConfig struct {
	// Addr is the Workload API endpoint, "unix:///path/to/api.sock". Empty means the value of
	// SPIFFE_ENDPOINT_SOCKET.
	Addr string

	// ID, when not zero, picks the X.509-SVID with this SPIFFE ID out of those the Workload API
	// issues to the workload (SPIRE issues one per matching registration entry), and
	// OpenX509Source waits until it is issued. When zero, the Workload API's default (first)
	// SVID is used.
	ID spiffeid.ID
}

// addr resolves the endpoint address, failing clearly when none is configured.
func (c WorkloadConfig) addr() (string, error) {
	if c.Addr != "" {
		return c.Addr, nil
	}
	if a := os.Getenv(EndpointSocketEnv); a != "" {
		return a, nil
	}
	return "", fmt.Errorf("identity: no Workload API endpoint: set %s (for example unix:///run/spire/agent/public/api.sock)", EndpointSocketEnv)
}

// OpenX509Source opens a go-spiffe X509Source on the Workload API: the service's own
// X.509-SVID and the trust bundles, kept current as the SPIRE agent rotates them (at half
// life). It returns once the SVID (cfg.ID's, when set) has arrived, or fails when ctx ends
// first. The source is an SVIDSource, as MTLSServerConfig and MTLSClientConfig take. The
// caller closes the source.
func OpenX509Source(ctx context.Context, cfg WorkloadConfig) (*workloadapi.X509Source, error) {
	addr, err := cfg.addr()
	if err != nil {
		return nil, err
	}
	opts := []workloadapi.X509SourceOption{workloadapi.WithClientOptions(workloadapi.WithAddr(addr))}
	if !cfg.ID.IsZero() {
		want := cfg.ID
		opts = append(opts, workloadapi.WithDefaultX509SVIDPicker(func(svids []*x509svid.SVID) *x509svid.SVID {
			for _, s := range svids {
				if s.ID == want {
					return s
				}
			}
			return nil
		}))
	}
	src, err := workloadapi.NewX509Source(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("identity: Workload API at %s: %w", addr, err)
	}
	for {
		if _, err := src.GetX509SVID(); err == nil {
			return src, nil
		}
		// The workload got SVIDs, but not (yet) the one it asked for: wait for the next update.
		if err := src.WaitUntilUpdated(ctx); err != nil {
			src.Close()
			return nil, fmt.Errorf("identity: Workload API at %s did not issue %s: %w", addr, cfg.ID, err)
		}
	}
}

// OpenJWTSource opens a go-spiffe JWTSource on the Workload API: it fetches the service's
// JWT-SVIDs on demand (FetchJWTSVID with jwtsvid.Params{Audience, Subject: the ID to use}) and
// keeps the JWT bundles current for validating others'. The caller closes the source.
func OpenJWTSource(ctx context.Context, cfg WorkloadConfig) (*workloadapi.JWTSource, error) {
	addr, err := cfg.addr()
	if err != nil {
		return nil, err
	}
	src, err := workloadapi.NewJWTSource(ctx, workloadapi.WithClientOptions(workloadapi.WithAddr(addr)))
	if err != nil {
		return nil, fmt.Errorf("identity: Workload API at %s: %w", addr, err)
	}
	return src, nil
}

// FetchJWTSVID fetches a JWT-SVID for audience from src, for the workload's SPIFFE ID id (its
// default one when id is zero).
func FetchJWTSVID(ctx context.Context, src *workloadapi.JWTSource, id spiffeid.ID, audience string) (*jwtsvid.SVID, error) {
	if audience == "" {
		return nil, errors.New("identity: a JWT-SVID needs an audience")
	}
	svid, err := src.FetchJWTSVID(ctx, jwtsvid.Params{Audience: audience, Subject: id})
	if err != nil {
		return nil, fmt.Errorf("identity: fetch JWT-SVID from the Workload API: %w", err)
	}
	return svid, nil
}

// SVIDSource is what one end of an mTLS connection needs: its own X.509-SVID and the bundles
// that verify the peer's. *workloadapi.X509Source is one.
type SVIDSource interface {
	x509svid.Source
	x509bundle.Source
}

// MTLSServerConfig is go-spiffe's tlsconfig.MTLSServerConfig with TLS 1.3 as the minimum: the
// server presents src's current SVID (so a rotation takes effect on the next handshake) and
// accepts only clients whose SVID verifies against src's bundle and passes authorizer
// (tlsconfig.AuthorizeID(registryID), say).
func MTLSServerConfig(src SVIDSource, authorizer tlsconfig.Authorizer) *tls.Config {
	c := tlsconfig.MTLSServerConfig(src, src, authorizer)
	c.MinVersion = tls.VersionTLS13
	return c
}

// MTLSClientConfig is go-spiffe's tlsconfig.MTLSClientConfig with TLS 1.3 as the minimum: the
// client presents src's current SVID and accepts only a server whose SVID verifies against
// src's bundle and passes authorizer (tlsconfig.AuthorizeID(tegID), say).
func MTLSClientConfig(src SVIDSource, authorizer tlsconfig.Authorizer) *tls.Config {
	c := tlsconfig.MTLSClientConfig(src, src, authorizer)
	c.MinVersion = tls.VersionTLS13
	return c
}
