package federation

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/spiffe/go-spiffe/v2/bundle/spiffebundle"
	"github.com/spiffe/go-spiffe/v2/bundle/x509bundle"
	"github.com/spiffe/go-spiffe/v2/federation"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
)

// Bundle refresh bounds: a peer's refresh hint is clamped to [MinRefresh, MaxRefresh]; without
// a hint DefaultRefresh applies; a failed fetch is retried after RetryAfter (or the hint, if
// shorter). FetchTimeout bounds one fetch.
const (
	MinRefresh     = time.Second
	MaxRefresh     = time.Hour
	DefaultRefresh = 5 * time.Minute
	RetryAfter     = 10 * time.Second
	FetchTimeout   = 10 * time.Second
)

// FetchFunc fetches the bundle of td from url (federation.FetchBundle with the fetch options).
type FetchFunc func(ctx context.Context, td spiffeid.TrustDomain, url string) (*spiffebundle.Bundle, error)

// Bundles holds the trust bundles of the ACTIVE peers, each fetched from the peer's bundle
// endpoint with go-spiffe's federation.FetchBundle and refreshed on the bundle's own
// spiffe_refresh_hint. It is the x509bundle.Source that verifies peer registries' SVIDs on
// both ends of a federation connection; it answers only for ACTIVE peers whose bundle was
// fetched, so a deactivated peer stops verifying at once.
type Bundles struct {
	fetch FetchFunc
	log   *slog.Logger

	mu    sync.RWMutex
	peers map[spiffeid.TrustDomain]*peerBundle
	wg    sync.WaitGroup
}

// BundleStatus is what is known of a peer's bundle.
type BundleStatus struct {
	RefreshedAt *time.Time
	NextRefresh time.Time
	RefreshHint time.Duration
	Error       string
}

type peerBundle struct {
	url    string
	cancel context.CancelFunc
	bundle *x509bundle.Bundle
	status BundleStatus
}

// NewBundles returns an empty set; fetch nil means federation.FetchBundle without options.
func NewBundles(fetch FetchFunc, log *slog.Logger) *Bundles {
	if fetch == nil {
		fetch = func(ctx context.Context, td spiffeid.TrustDomain, url string) (*spiffebundle.Bundle, error) {
			return federation.FetchBundle(ctx, td, url)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Bundles{fetch: fetch, log: log, peers: map[spiffeid.TrustDomain]*peerBundle{}}
}

// GetX509BundleForTrustDomain implements x509bundle.Source for the ACTIVE peers.
func (b *Bundles) GetX509BundleForTrustDomain(td spiffeid.TrustDomain) (*x509bundle.Bundle, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if p, ok := b.peers[td]; ok && p.bundle != nil {
		return p.bundle, nil
	}
	return nil, errors.New("federation: no bundle for trust domain " + td.Name())
}

// Has reports whether td is tracked (an ACTIVE peer).
func (b *Bundles) Has(td spiffeid.TrustDomain) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	_, ok := b.peers[td]
	return ok
}

// Status is the bundle status of td's peer.
func (b *Bundles) Status(td spiffeid.TrustDomain) (BundleStatus, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	p, ok := b.peers[td]
	if !ok {
		return BundleStatus{}, false
	}
	return p.status, true
}

// Sync tracks exactly the given ACTIVE peers: it starts a refresher for each new one (or one
// whose endpoint changed) and stops and forgets the others. ctx bounds every refresher.
func (b *Bundles) Sync(ctx context.Context, active []Peer) {
	want := map[spiffeid.TrustDomain]string{}
	for _, p := range active {
		if td, err := spiffeid.TrustDomainFromString(p.TrustDomain); err == nil {
			want[td] = p.BundleEndpoint
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for td, p := range b.peers {
		if u, ok := want[td]; !ok || u != p.url {
			p.cancel()
			delete(b.peers, td)
		}
	}
	for td, u := range want {
		if _, ok := b.peers[td]; ok {
			continue
		}
		pctx, cancel := context.WithCancel(ctx)
		p := &peerBundle{url: u, cancel: cancel}
		b.peers[td] = p
		b.wg.Add(1)
		go b.refresh(pctx, td, p)
	}
}

// Close stops every refresher.
func (b *Bundles) Close() {
	b.mu.Lock()
	for td, p := range b.peers {
		p.cancel()
		delete(b.peers, td)
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// refresh fetches p's bundle now and then again on its refresh hint until ctx ends.
func (b *Bundles) refresh(ctx context.Context, td spiffeid.TrustDomain, p *peerBundle) {
	defer b.wg.Done()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		t.Reset(b.fetchOnce(ctx, td, p))
	}
}

// fetchOnce fetches p's bundle and says when to fetch it next.
func (b *Bundles) fetchOnce(ctx context.Context, td spiffeid.TrustDomain, p *peerBundle) time.Duration {
	fctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	sb, err := b.fetch(fctx, td, p.url)
	cancel()
	now := time.Now().UTC()
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		if ctx.Err() != nil {
			return MaxRefresh
		}
		next := RetryAfter
		if p.status.RefreshHint > 0 && p.status.RefreshHint < next {
			next = p.status.RefreshHint
		}
		p.status.Error, p.status.NextRefresh = err.Error(), now.Add(next)
		b.log.Warn("federation: peer bundle fetch failed", "trust_domain", td.Name(), "err", err)
		return next
	}
	next := DefaultRefresh
	if hint, ok := sb.RefreshHint(); ok && hint > 0 {
		next = min(max(hint, MinRefresh), MaxRefresh)
		p.status.RefreshHint = hint
	}
	p.bundle = sb.X509Bundle()
	p.status.Error, p.status.RefreshedAt, p.status.NextRefresh = "", &now, now.Add(next)
	return next
}

// Refresh fetches td's bundle now (the next refresh follows its hint again).
func (b *Bundles) Refresh(ctx context.Context, td spiffeid.TrustDomain) error {
	b.mu.RLock()
	p, ok := b.peers[td]
	b.mu.RUnlock()
	if !ok {
		return errors.New("federation: " + td.Name() + " is not an active peer")
	}
	b.fetchOnce(ctx, td, p)
	st, _ := b.Status(td)
	if st.Error != "" {
		return errors.New(st.Error)
	}
	return nil
}
