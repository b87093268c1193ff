package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/danielgtaylor/huma/v2"
	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/config"
	"github.com/sovereign-stack/sovereign/httpapi"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/teg"
	"github.com/sovereign-stack/sovereign/teg/tegclient"
)

// Role is which services a Server runs.
type Role string

// The roles.
const (
	// RoleAll runs the whole stack in one process (`sovereign up`); the registry reaches the
	// ledger in process.
	RoleAll Role = ""
	// RoleRegistry runs the registry (accounts, cards, discovery, templates, portal, identity)
	// and reaches the TEG at Config.TEGURL over mTLS with its own X.509-SVID
	// (spiffe://<td>/registry/<Config.RegistryName>) (`sovereign registry serve`).
	RoleRegistry Role = "registry"
	// RoleTEG runs the ledger and its routes, with an mTLS listener for the registry and agents
	// (ServeMTLS, SVID spiffe://<td>/teg) (`sovereign teg serve`). Its own admin account (in its
	// own database) holds the key for mint and burn.
	RoleTEG Role = "teg"
)

func (r Role) runsTEG() bool      { return r == RoleAll || r == RoleTEG }
func (r Role) runsRegistry() bool { return r == RoleAll || r == RoleRegistry }

// startSource gives a split-mode service its own X.509-SVID, kept fresh at half-life: minted by
// the builtin CA (an IssuerSource), or in spire mode issued by the SPIRE agent through the
// Workload API (a workloadapi.X509Source, rotated by the agent).
func (s *Server) startSource(ctx context.Context, tegID, registryID spiffeid.ID) error {
	var id spiffeid.ID
	switch s.role {
	case RoleAll:
		return nil
	case RoleTEG:
		id = tegID
	case RoleRegistry:
		id = registryID
	default:
		return fmt.Errorf("server: unknown role %q", s.role)
	}
	var src interface {
		identity.SVIDSource
		io.Closer
	}
	var err error
	if s.cfg.IdentityMode == config.IdentitySpire {
		src, err = openWorkloadSource(ctx, s.cfg.SpireWorkloadSocket, id)
	} else {
		src, err = identity.NewIssuerSource(ctx, s.issuer, id, identity.WithSVIDTTL(s.cfg.SVIDTTL), identity.WithSourceLogger(s.log))
	}
	if err != nil {
		return fmt.Errorf("server: X.509-SVID for %s: %w", id, err)
	}
	s.source, s.serviceID = src, id
	s.closers = append(s.closers, src)
	return nil
}

// connectTEG makes the registry's client of a remote TEG (registry role).
func (s *Server) connectTEG(tegID spiffeid.ID) error {
	if s.role != RoleRegistry {
		return nil
	}
	if s.cfg.TEGURL == "" {
		return errors.New("server: the registry in split mode needs the TEG's URL (teg_url, --teg-url)")
	}
	c, err := tegclient.NewMTLS(s.cfg.TEGURL, s.source, tegID)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.wallets, s.tegPing = c, c.Ping
	return nil
}

// serviceSubject is the policy subject of a stack service known by its SPIFFE ID.
func serviceSubject(id spiffeid.ID, method string) policy.Subject {
	return policy.Subject{Kind: policy.KindService, ID: id.String(), SPIFFEID: id.String(), AuthMethod: method}
}

// Wallets is how the registry reaches the ledger: in process (RoleAll) or over mTLS
// (RoleRegistry); nil for RoleTEG.
func (s *Server) Wallets() teg.Wallets { return s.wallets }

// SVIDSource is the service's own rotating X.509-SVID and the bundle that verifies its peers
// (split mode), nil for RoleAll: an *identity.IssuerSource in builtin mode, a
// *workloadapi.X509Source in spire mode.
func (s *Server) SVIDSource() identity.SVIDSource { return s.source }

// ServiceID is the SPIFFE ID of the service's own X.509-SVID (split mode): spiffe://TD/teg or
// spiffe://TD/registry/NAME; the zero ID for RoleAll.
func (s *Server) ServiceID() spiffeid.ID { return s.serviceID }

// ServeMTLS serves on ln with mutual TLS until ctx is cancelled (as Serve): TLS 1.3, the
// service's own X.509-SVID, and only clients whose X.509-SVID verifies against the trust
// bundle and names a registry or an agent of the trust domain; any other client is refused in
// the handshake. The verified client SVID is the request's subject unless the request carries
// a bearer token or API key.
func (s *Server) ServeMTLS(ctx context.Context, ln net.Listener) error {
	if s.source == nil {
		return errors.New("server: mTLS needs a service SVID (the teg or registry role)")
	}
	authorize := identity.AuthorizeKinds(s.issuer.TrustDomain(), identity.KindRegistry, identity.KindAgent)
	return s.Serve(ctx, tls.NewListener(ln, identity.MTLSServerConfig(s.source, authorize)))
}

// exceptServices applies the per-caller rate limit mw to everyone but the stack's own services
// (subjects of kind service, authenticated by an SVID of the trust domain): the registry calls
// the TEG on behalf of all its users, and is limited at its own edge, per user, instead.
func exceptServices(mw func(huma.Context, func(huma.Context))) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		if httpapi.Subject(hctx.Context()).Kind == policy.KindService {
			next(hctx)
			return
		}
		mw(hctx, next)
	}
}
