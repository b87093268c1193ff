package federation

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
	"github.com/sovereign-stack/sovereign/ids"
	"github.com/sovereign-stack/sovereign/policy"
)

// Policy actions on peers.
const (
	ActionPeerPropose = "federation.peer.propose" // a verified developer (admins too)
	ActionPeerRead    = "federation.peer.read"    // any developer
	ActionPeerManage  = "federation.peer.manage"  // admins: approve, reject, deactivate, reactivate
	ActionQuery       = "federation.query"        // a peer registry (X.509-SVID of a registry ID)
	ActionSync        = "federation.sync"         // a peer registry: the change feed and hints
)

// SubjectPeerRegistry is the policy subject kind of another registry calling over mutual TLS
// with an X.509-SVID of an ACTIVE peer's trust domain.
const SubjectPeerRegistry = "peer_registry"

// Service manages peers: proposals, admin transitions, and the snapshot of ACTIVE peers the
// bundle refresher and the live query use (refreshed on every transition here and by Reload
// for changes made by other replicas).
type Service struct {
	Store Store
	Authz policy.Decider
	// Self is this registry's trust domain.
	Self spiffeid.TrustDomain
	Now  func() time.Time
	// OnChange, when set, is called with the ACTIVE peers after every change of the snapshot.
	OnChange func([]Peer)
	// Addresses, when set, refuses proposals whose URLs point at denied networks.
	Addresses *AddressPolicy

	mu     sync.RWMutex
	active []Peer
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) authorize(ctx context.Context, sub policy.Subject, action, id string) error {
	return policy.Authorize(ctx, s.Authz, policy.Input{Subject: sub, Action: action,
		Resource: policy.Resource{Kind: "federation_peer", ID: id}, Context: policy.Context{Time: s.now()}})
}

// Propose records a proposal of sub's as a PENDING_APPROVAL peer.
func (s *Service) Propose(ctx context.Context, sub policy.Subject, p Proposal) (Peer, error) {
	if err := s.authorize(ctx, sub, ActionPeerPropose, ""); err != nil {
		return Peer{}, err
	}
	if err := p.Check(s.Self); err != nil {
		return Peer{}, err
	}
	for _, f := range []struct{ name, url string }{{"base_url", p.BaseURL}, {"bundle_endpoint", p.BundleEndpoint}} {
		if err := s.Addresses.CheckURL(ctx, f.url); err != nil {
			var ae *apperr.Error
			if errors.As(err, &ae) {
				return Peer{}, ae.With("field", f.name)
			}
			return Peer{}, err
		}
	}
	now := s.now()
	peer := Peer{ID: ids.NewAt("fpr", now), Name: p.Name, BaseURL: p.BaseURL, TrustDomain: p.TrustDomain,
		BundleEndpoint: p.BundleEndpoint, State: StatePending, ProposedBy: sub.ID, Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := s.Store.InsertPeer(ctx, peer); err != nil {
		return Peer{}, err
	}
	return peer, nil
}

// Get reads one peer.
func (s *Service) Get(ctx context.Context, sub policy.Subject, id string) (Peer, error) {
	if err := s.authorize(ctx, sub, ActionPeerRead, id); err != nil {
		return Peer{}, err
	}
	return s.Store.GetPeer(ctx, id)
}

// List lists every peer, oldest first.
func (s *Service) List(ctx context.Context, sub policy.Subject) ([]Peer, error) {
	if err := s.authorize(ctx, sub, ActionPeerRead, ""); err != nil {
		return nil, err
	}
	return s.Store.ListPeers(ctx)
}

// Decide applies an admin's action to peer id: the one legal transition from its current
// state (Transition), made atomically against that state.
func (s *Service) Decide(ctx context.Context, sub policy.Subject, id string, action Action, reason string) (Peer, error) {
	if err := s.authorize(ctx, sub, ActionPeerManage, id); err != nil {
		return Peer{}, err
	}
	if utf8.RuneCountInString(reason) > 500 {
		return Peer{}, apperr.New(apperr.Invalid, "REASON_TOO_LONG", "a decision's reason is at most 500 characters").With("field", "reason")
	}
	cur, err := s.Store.GetPeer(ctx, id)
	if err != nil {
		return Peer{}, err
	}
	to, err := Transition(cur.State, action)
	if err != nil {
		return Peer{}, err
	}
	p, err := s.Store.SetState(ctx, id, cur.State, to, sub.ID, reason, s.now())
	if err != nil {
		return Peer{}, err
	}
	if cur.State == StateActive || to == StateActive {
		err = s.Reload(ctx)
	}
	return p, err
}

// Reload re-reads the ACTIVE peers into the snapshot (and tells OnChange).
func (s *Service) Reload(ctx context.Context) error {
	all, err := s.Store.ListPeers(ctx)
	if err != nil {
		return err
	}
	active := slices.DeleteFunc(all, func(p Peer) bool { return p.State != StateActive })
	s.mu.Lock()
	s.active = active
	s.mu.Unlock()
	if s.OnChange != nil {
		s.OnChange(slices.Clone(active))
	}
	return nil
}

// Active is the snapshot of ACTIVE peers.
func (s *Service) Active() []Peer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.active)
}

// ActivePeer is the ACTIVE peer of trust domain td, if any.
func (s *Service) ActivePeer(td string) (Peer, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, p := range s.active {
		if p.TrustDomain == td {
			return p, true
		}
	}
	return Peer{}, false
}

// ErrPeerNotActive refuses a federation call from a registry whose trust domain is not an
// ACTIVE peer (deactivated while its connection stayed open, say).
var ErrPeerNotActive = apperr.New(apperr.Forbidden, "PEER_NOT_ACTIVE", "the calling registry's trust domain is not an active peer of this registry")

// AuthorizeQuery lets a peer registry's live query in: the policy (federation.query: a
// peer_registry subject whose SPIFFE ID names a registry), then the subject's trust domain
// must be an ACTIVE peer. It returns that peer.
func (s *Service) AuthorizeQuery(ctx context.Context, sub policy.Subject) (Peer, error) {
	return s.authorizePeer(ctx, sub, ActionQuery)
}

// AuthorizeSync lets a peer registry read the change feed or send a hint, under the same rule
// as AuthorizeQuery (policy action federation.sync).
func (s *Service) AuthorizeSync(ctx context.Context, sub policy.Subject) (Peer, error) {
	return s.authorizePeer(ctx, sub, ActionSync)
}

func (s *Service) authorizePeer(ctx context.Context, sub policy.Subject, action string) (Peer, error) {
	if err := s.authorize(ctx, sub, action, ""); err != nil {
		return Peer{}, err
	}
	id, err := spiffeid.FromString(sub.SPIFFEID)
	if err != nil {
		return Peer{}, ErrPeerNotActive
	}
	p, ok := s.ActivePeer(id.TrustDomain().Name())
	if !ok {
		return Peer{}, ErrPeerNotActive.With("trust_domain", id.TrustDomain().Name())
	}
	return p, nil
}
