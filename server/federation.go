package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	spiffefed "github.com/spiffe/go-spiffe/v2/federation"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	"github.com/spiffe/go-spiffe/v2/spiffetls/tlsconfig"
	"github.com/spiffe/go-spiffe/v2/svid/x509svid"

	"github.com/sovereign-stack/sovereign/federation"
	"github.com/sovereign-stack/sovereign/federation/fedhttp"
	"github.com/sovereign-stack/sovereign/federation/fedredis"
	"github.com/sovereign-stack/sovereign/federation/fedsql"
	"github.com/sovereign-stack/sovereign/identity"
	"github.com/sovereign-stack/sovereign/policy"
	"github.com/sovereign-stack/sovereign/registry/registryhttp"
)

// federationReload is how often a replica re-reads the ACTIVE peers (changes made through
// another replica; its own changes apply at once).
const federationReload = 5 * time.Second

// fed is the registry's federation: peers, their bundles, the live query, and the registry's
// own X.509-SVID it presents to peers.
type fed struct {
	service *federation.Service
	bundles *federation.Bundles
	fanout  *federation.Fanout
	syncer  *federation.Syncer
	svid    x509svid.Source
	authz   policy.Decider
}

// registerFederation builds the federation of a registry and its routes; discovery's
// include_federated goes through its live query.
func (s *Server) registerFederation(ctx, bgCtx context.Context, api huma.API, authz policy.Decider, cards *registryhttp.Cards, registryID spiffeid.ID, now func() time.Time) error {
	var addrs *federation.AddressPolicy
	if d := s.cfg.Federation.DeniedNetworks; d != "" {
		nets, err := federation.ParseNetworks(d)
		if err != nil {
			return fmt.Errorf("config: federation.denied_networks: %w", err)
		}
		addrs = &federation.AddressPolicy{Denied: nets}
	}
	var svid x509svid.Source
	if s.source != nil {
		svid = s.source
	} else { // `up`: the registry takes an SVID of its own for peers
		src, err := identity.NewIssuerSource(ctx, s.issuer, registryID, identity.WithSVIDTTL(s.cfg.SVIDTTL), identity.WithSourceLogger(s.log))
		if err != nil {
			// The registry still serves; federation calls fail until a restart gets an SVID.
			s.log.Warn("federation: no X.509-SVID for the registry; peers cannot be called or served", "spiffe_id", registryID.String(), "err", err)
		} else {
			s.closers = append(s.closers, src)
			svid = src
		}
	}
	var fetch federation.FetchFunc
	if addrs != nil { // a bundle endpoint is checked before each fetch
		fetch = func(ctx context.Context, td spiffeid.TrustDomain, url string) (*spiffebundle.Bundle, error) {
			if err := addrs.CheckURL(ctx, url); err != nil {
				return nil, err
			}
			return spiffefed.FetchBundle(ctx, td, url)
		}
	}
	bundles := federation.NewBundles(fetch, s.log)
	s.closers = append(s.closers, closerFunc(func() error { bundles.Close(); return nil }))
	st := fedsql.New(s.db)
	client := &fedhttp.Client{SVID: svid, Bundles: bundles, Addresses: addrs}
	self := s.issuer.TrustDomain().Name()
	syncer := &federation.Syncer{Self: self, Puller: client, Replicas: cards, Cursors: st, Interval: s.cfg.Federation.SyncInterval, Log: s.log,
		Ready: func(td string) bool {
			d, err := spiffeid.TrustDomainFromString(td)
			if err != nil {
				return true
			}
			bs, ok := bundles.Status(d)
			return ok && bs.RefreshedAt != nil
		}}
	fanout := &federation.Fanout{Self: self, Caller: client, Deadline: s.cfg.Federation.PeerTimeout, MaxHops: s.cfg.Federation.MaxHops}
	if ttl := s.cfg.Federation.CacheTTL; ttl >= 0 {
		fanout.Cache = &federation.Cache{TTL: ttl, Log: s.log}
		if s.redis != nil {
			fanout.Cache.Store = fedredis.New(s.redis, "sovereign:fedcache:"+self+":")
		}
		// Copies that sync brings in (or drops) make cached federated answers from their
		// origin stale: every replica sees the bump.
		cache := fanout.Cache
		syncer.SetOnApplied(func(origin string) {
			if err := cache.InvalidateOrigin(bgCtx, origin); err != nil {
				s.log.Warn("federation: invalidate cached answers", "origin", origin, "err", err)
			}
		})
	}
	syncer.Start(bgCtx)
	s.bg.Add(1)
	go func() { defer s.bg.Done(); <-bgCtx.Done(); syncer.Wait() }()
	cards.Service.OnLocalChange(syncer.Notify)
	svc := &federation.Service{Store: st, Authz: authz, Self: s.issuer.TrustDomain(), Now: now, Addresses: addrs,
		OnChange: func(active []federation.Peer) { bundles.Sync(bgCtx, active); syncer.Track(active) }}
	if err := svc.Reload(ctx); err != nil {
		return err
	}
	fanout.Peers = svc.Active
	s.fed = &fed{service: svc, bundles: bundles, fanout: fanout, syncer: syncer, svid: svid, authz: authz}
	cards.Federation = fanout
	(&fedhttp.Handler{Service: svc, Fanout: fanout, Bundles: bundles, Local: cards.LocalHits, Feed: cards, Syncer: syncer}).Register(api)
	s.bg.Add(1)
	go s.every(bgCtx, federationReload, func(time.Time) {
		if err := svc.Reload(bgCtx); err != nil && bgCtx.Err() == nil {
			s.log.Warn("federation: reload peers", "err", err)
		}
	})
	return nil
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

var _ io.Closer = closerFunc(nil)

// Federation is the registry's federation service (nil for RoleTEG).
func (s *Server) Federation() *federation.Service {
	if s.fed == nil {
		return nil
	}
	return s.fed.service
}

// FederationBundles is the set of peers' trust bundles (nil for RoleTEG).
func (s *Server) FederationBundles() *federation.Bundles {
	if s.fed == nil {
		return nil
	}
	return s.fed.bundles
}

// FederationCache is the cache of federated answers (nil for RoleTEG or with
// federation.cache_ttl negative): the sync of a peer's changes calls its InvalidateOrigin.
func (s *Server) FederationCache() *federation.Cache {
	if s.fed == nil {
		return nil
	}
	return s.fed.fanout.Cache
}

// FederationFanout is the live query of the peers (nil for RoleTEG).
func (s *Server) FederationFanout() *federation.Fanout {
	if s.fed == nil {
		return nil
	}
	return s.fed.fanout
}

// ServeFederation serves the stack's handler on ln to peer registries until ctx is cancelled
// (as Serve), with mutual TLS 1.3: it presents the registry's X.509-SVID and accepts only
// clients whose X.509-SVID verifies against the trust bundle of an ACTIVE peer (fetched from
// the peer's bundle endpoint). Such a client is a peer_registry subject; the policy decides
// what it may call (the live query, when its SPIFFE ID names a registry).
func (s *Server) ServeFederation(ctx context.Context, ln net.Listener) error {
	if s.fed == nil {
		return errors.New("server: federation runs with the registry")
	}
	if s.fed.svid == nil {
		return errors.New("server: federation needs the registry's X.509-SVID (see the warning at start)")
	}
	c := tlsconfig.MTLSServerConfig(s.fed.svid, s.fed.bundles, tlsconfig.AuthorizeAny())
	c.MinVersion = tls.VersionTLS13
	verify := c.VerifyPeerCertificate
	c.VerifyPeerCertificate = func(raw [][]byte, chains [][]*x509.Certificate) error {
		err := verify(raw, chains)
		if err != nil {
			s.refusePeer(ctx, raw, err)
		}
		return err
	}
	return s.Serve(ctx, tls.NewListener(ln, c))
}

// refusePeer puts a handshake refused on the federation listener (a client certificate that
// does not verify against any ACTIVE peer's bundle: another trust domain, a forged or expired
// SVID) in the decision log: the live query asked by an unauthenticated subject, with the
// SPIFFE ID its certificate claims.
func (s *Server) refusePeer(ctx context.Context, raw [][]byte, cause error) {
	claimed := ""
	if len(raw) > 0 {
		if cert, err := x509.ParseCertificate(raw[0]); err == nil {
			if id, err := x509svid.IDFromCert(cert); err == nil {
				claimed = id.String()
			}
		}
	}
	s.log.Warn("federation: peer handshake refused", "claimed_spiffe_id", claimed, "err", cause)
	_ = policy.Authorize(ctx, s.fed.authz, policy.Input{
		Subject:  policy.Subject{Kind: "anonymous", SPIFFEID: claimed, AuthMethod: "x509_svid_unverified"},
		Action:   federation.ActionQuery,
		Resource: policy.Resource{Kind: "federation_peer"},
		Context:  policy.Context{Time: time.Now().UTC()},
	})
}

// FederationSyncer keeps the copies of the peers' cards (nil for RoleTEG); its SetOnApplied
// hook hears of each origin whose copies changed.
func (s *Server) FederationSyncer() *federation.Syncer {
	if s.fed == nil {
		return nil
	}
	return s.fed.syncer
}
