package server

import (
	"context"
	"fmt"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/workloadapi"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/identity"
)

// workloadSVIDTimeout bounds how long a split-mode service in spire mode waits at start for
// the SPIRE agent to issue its X.509-SVID (the entry must be registered and synced to the agent).
const workloadSVIDTimeout = time.Minute

// openIssuer opens the issuer Config.IdentityMode names (both defaulted by config.Finish): the
// builtin CA in Config.IdentityDir, or SPIRE through its Server API at
// Config.SpireServerSocket. The server closes a SPIRE issuer on Close.
func (s *Server) openIssuer(ctx context.Context, td spiffeid.TrustDomain) (identity.Issuer, error) {
	switch s.cfg.IdentityMode {
	case config.IdentitySpire:
		sp, err := identity.NewSpire(ctx, identity.SpireConfig{ServerSocket: s.cfg.SpireServerSocket, TrustDomain: td})
		if err != nil {
			return nil, fmt.Errorf("server: identity: SPIRE Server API at %s: %w", s.cfg.SpireServerSocket, err)
		}
		s.closers = append(s.closers, sp)
		return sp, nil
	case config.IdentityBuiltin:
		b, err := identity.NewBuiltin(s.cfg.IdentityDir, td)
		if err != nil {
			return nil, fmt.Errorf("server: identity: %w", err)
		}
		return b, nil
	default:
		return nil, fmt.Errorf("server: identity_mode %q must be %q or %q", s.cfg.IdentityMode, config.IdentityBuiltin, config.IdentitySpire)
	}
}

// openWorkloadSource opens the service's own X.509-SVID for id on the Workload API at addr
// (SPIFFE_ENDPOINT_SOCKET when empty), waiting up to workloadSVIDTimeout for the SPIRE agent
// to issue it.
func openWorkloadSource(ctx context.Context, addr string, id spiffeid.ID) (*workloadapi.X509Source, error) {
	ctx, cancel := context.WithTimeout(ctx, workloadSVIDTimeout)
	defer cancel()
	src, err := identity.OpenX509Source(ctx, identity.WorkloadConfig{Addr: addr, ID: id})
	if err != nil {
		return nil, fmt.Errorf("%w (is a SPIRE registration entry for %s selecting this process synced to the agent?)", err, id)
	}
	return src, nil
}
