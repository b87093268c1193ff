package federation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/sovereign-stack/sovereign/apperr"
)

// CodePeerAddressForbidden refuses a peer URL whose host is, or resolves to, an address of a
// network the registry's address policy denies.
const CodePeerAddressForbidden = "PEER_ADDRESS_FORBIDDEN"

// ErrAddressForbidden is the cause of a refused dial to a denied address.
var ErrAddressForbidden = errors.New("federation: the address is in a network peers may not point at")

// ResolveTimeout bounds the look-up of a peer URL's host.
const ResolveTimeout = 5 * time.Second

// namedNetworks are the names an address policy accepts besides CIDR prefixes.
var namedNetworks = map[string][]string{
	"loopback":    {"127.0.0.0/8", "::1/128"},
	"private":     {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"},
	"link-local":  {"169.254.0.0/16", "fe80::/10"},
	"unspecified": {"0.0.0.0/32", "::/128"},
}

// ParseNetworks reads a comma-separated list of networks: CIDR prefixes (10.0.0.0/8,
// fd00::/8) and the names loopback, private (RFC 1918, carrier-grade NAT, unique local),
// link-local (cloud metadata endpoints live there) and unspecified.
func ParseNetworks(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		cidrs, ok := namedNetworks[f]
		if !ok {
			cidrs = []string{f}
		}
		for _, c := range cidrs {
			p, err := netip.ParsePrefix(c)
			if err != nil {
				return nil, fmt.Errorf("federation: %q is neither a CIDR prefix nor one of loopback, private, link-local, unspecified", f)
			}
			out = append(out, p.Masked())
		}
	}
	return out, nil
}

// AddressPolicy says which addresses peers' URLs (base URL and bundle endpoint) may point at:
// none in Denied. It is checked when a peer is proposed (every address its host resolves to),
// before each bundle fetch, and on every connection to a peer (the address dialled, so a
// host name that resolves elsewhere later is still refused). The zero value denies nothing.
type AddressPolicy struct {
	// Denied are the networks no peer URL may reach.
	Denied []netip.Prefix
	// Resolve looks a host name up (the system resolver when nil).
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Allowed reports whether ip is in no denied network.
func (p *AddressPolicy) Allowed(ip netip.Addr) bool {
	if p == nil {
		return true
	}
	ip = ip.Unmap()
	for _, n := range p.Denied {
		if n.Contains(ip) {
			return false
		}
	}
	return true
}

// CheckURL refuses (422 PEER_ADDRESS_FORBIDDEN) a URL whose host is, or resolves to, a denied
// address; a host that does not resolve is refused too (INVALID_PEER_URL).
func (p *AddressPolicy) CheckURL(ctx context.Context, raw string) error {
	if p == nil || len(p.Denied) == 0 {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return apperr.Errorf(apperr.Invalid, CodeInvalidPeerURL, "URL %q is not an absolute URL", raw)
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		resolve := p.Resolve
		if resolve == nil {
			resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
				return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
			}
		}
		rctx, cancel := context.WithTimeout(ctx, ResolveTimeout)
		addrs, err = resolve(rctx, host)
		cancel()
		if err != nil || len(addrs) == 0 {
			return apperr.Errorf(apperr.Invalid, CodeInvalidPeerURL, "the host of %q does not resolve", raw)
		}
	}
	for _, a := range addrs {
		if !p.Allowed(a) {
			return apperr.Errorf(apperr.Invalid, CodePeerAddressForbidden, "%q points at %s, in a network this registry's peers may not point at", raw, a)
		}
	}
	return nil
}

// Control is a net.Dialer Control function refusing connections to denied addresses.
func (p *AddressPolicy) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrAddressForbidden, address)
	}
	if !p.Allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrAddressForbidden, ap.Addr())
	}
	return nil
}
