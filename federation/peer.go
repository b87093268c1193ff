// Package federation is registry-to-registry federation: the peers a registry trusts (proposed
// by a developer, approved by an admin), their SPIFFE trust bundles (fetched from each peer's
// bundle endpoint and refreshed on its refresh hint), and the live query that fans a discovery
// search out to every ACTIVE peer in parallel, with a deadline and a circuit breaker per peer,
// a hop limit and an origin list against loops, and one merged, de-duplicated ranking.
//
// The package is free of HTTP and SQL: the store is federation/fedsql, the routes and the
// mTLS client of peers federation/fedhttp.
package federation

import (
	"context"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/spiffe/go-spiffe/v2/spiffeid"

	"github.com/sovereign-stack/sovereign/apperr"
)

// State is where a peer is in its life.
type State string

// The states of a peer.
const (
	StatePending  State = "PENDING_APPROVAL" // proposed, not yet decided by an admin
	StateActive   State = "ACTIVE"           // trusted: its bundle is fetched and it is queried
	StateInactive State = "INACTIVE"         // approved once, now paused by an admin
	StateRejected State = "REJECTED"         // refused by an admin (final)
)

// Action is an admin's decision on a peer.
type Action string

// The admin actions and the one transition each makes.
const (
	ActionApprove    Action = "approve"    // PENDING_APPROVAL → ACTIVE
	ActionReject     Action = "reject"     // PENDING_APPROVAL → REJECTED
	ActionDeactivate Action = "deactivate" // ACTIVE → INACTIVE
	ActionReactivate Action = "reactivate" // INACTIVE → ACTIVE
)

// transitions are the legal moves: action → (from, to). Every other move is refused.
var transitions = map[Action][2]State{
	ActionApprove:    {StatePending, StateActive},
	ActionReject:     {StatePending, StateRejected},
	ActionDeactivate: {StateActive, StateInactive},
	ActionReactivate: {StateInactive, StateActive},
}

// Transition is the state action moves a peer in state from to, or an error: 400
// UNKNOWN_PEER_ACTION for an action that does not exist, 409 INVALID_PEER_TRANSITION for one
// that does not apply to from.
func Transition(from State, action Action) (State, error) {
	t, ok := transitions[action]
	if !ok {
		return "", apperr.Errorf(apperr.BadRequest, "UNKNOWN_PEER_ACTION", "no peer action %q (approve, reject, deactivate, reactivate)", action)
	}
	if t[0] != from {
		return "", apperr.Errorf(apperr.Conflict, "INVALID_PEER_TRANSITION", "cannot %s a peer in state %s (only from %s)", action, from, t[0]).
			With("state", string(from))
	}
	return t[1], nil
}

// Peer is another registry this one federates with.
type Peer struct {
	ID string
	// Name is a label chosen by the proposer.
	Name string
	// BaseURL is the peer's federation endpoint (https, mutual TLS): /federation/v1/query is
	// served under it.
	BaseURL string
	// TrustDomain is the peer's SPIFFE trust domain; its registry presents an X.509-SVID
	// spiffe://<TrustDomain>/registry/<name> and results are tagged with it as their origin.
	TrustDomain string
	// BundleEndpoint is where the peer serves its SPIFFE trust bundle
	// (https://…/.well-known/spiffe-bundle).
	BundleEndpoint string
	State          State
	ProposedBy     string
	// DecidedBy is the admin who made the last transition ("" while pending).
	DecidedBy string
	// Reason is the admin's note on the last transition.
	Reason    string
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Proposal is what a developer submits to propose a peer.
type Proposal struct {
	Name           string
	BaseURL        string
	TrustDomain    string
	BundleEndpoint string
}

// Error codes of proposals.
const (
	CodeInvalidPeerURL     = "INVALID_PEER_URL"
	CodeInvalidTrustDomain = "INVALID_TRUST_DOMAIN"
	CodeOwnTrustDomain     = "OWN_TRUST_DOMAIN"
	CodeInvalidPeerName    = "INVALID_PEER_NAME"
)

// Check validates p for a registry of trust domain self: a name of 1–100 characters, a base
// URL in https (http only on a loopback host, for development), a bundle endpoint under the
// same rule, a valid trust domain other than self.
func (p *Proposal) Check(self spiffeid.TrustDomain) error {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" || len(p.Name) > 100 {
		return apperr.New(apperr.Invalid, CodeInvalidPeerName, "name must be 1 to 100 characters").With("field", "name")
	}
	td, err := spiffeid.TrustDomainFromString(p.TrustDomain)
	if err != nil || strings.Contains(p.TrustDomain, "/") {
		return apperr.Errorf(apperr.Invalid, CodeInvalidTrustDomain, "trust domain %q is not a SPIFFE trust domain name", p.TrustDomain).With("field", "trust_domain")
	}
	if td == self {
		return apperr.New(apperr.Invalid, CodeOwnTrustDomain, "a registry cannot federate with its own trust domain").With("field", "trust_domain")
	}
	p.TrustDomain = td.Name()
	for _, f := range []struct {
		name string
		v    *string
	}{{"base_url", &p.BaseURL}, {"bundle_endpoint", &p.BundleEndpoint}} {
		u, err := checkURL(*f.v)
		if err != nil {
			return err.With("field", f.name)
		}
		*f.v = u
	}
	return nil
}

// checkURL accepts an absolute https URL without credentials, query or fragment, or an http
// one on a loopback host; it returns it without a trailing slash.
func checkURL(raw string) (string, *apperr.Error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	bad := func(why string) (string, *apperr.Error) {
		return "", apperr.Errorf(apperr.Invalid, CodeInvalidPeerURL, "URL %q %s", raw, why)
	}
	if err != nil || u.Host == "" || u.Opaque != "" {
		return bad("is not an absolute URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return bad("must not carry credentials, a query or a fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return bad("must be https (plain http is accepted on a loopback host only)")
		}
	default:
		return bad("must be https")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Store keeps peers.
type Store interface {
	// InsertPeer adds p; ErrPeerExists when a peer of its trust domain exists that is not
	// REJECTED.
	InsertPeer(ctx context.Context, p Peer) error
	// GetPeer reads a peer; ErrPeerNotFound when there is none.
	GetPeer(ctx context.Context, id string) (Peer, error)
	// ListPeers lists every peer, oldest first.
	ListPeers(ctx context.Context) ([]Peer, error)
	// SetState moves peer id from state from to state to (by an admin, with a reason) and
	// increments its version, atomically: ErrPeerNotFound when there is no such peer,
	// ErrPeerStateChanged when its state is no longer from.
	SetState(ctx context.Context, id string, from, to State, by, reason string, at time.Time) (Peer, error)
}

// Errors of the store and service.
var (
	ErrPeerNotFound     = apperr.New(apperr.NotFound, "PEER_NOT_FOUND", "no such peer")
	ErrPeerExists       = apperr.New(apperr.Conflict, "PEER_EXISTS", "a peer of this trust domain is already proposed or approved")
	ErrPeerStateChanged = apperr.New(apperr.Conflict, "PEER_STATE_CHANGED", "the peer's state changed meanwhile; read it and try again")
)
