package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// DefaultDomains make package managers and git work: pip, npm, Go modules,
// crates, Debian and Ubuntu apt, and GitHub.
var DefaultDomains = []string{
	// pip
	"pypi.org", "files.pythonhosted.org",
	// npm, yarn
	"registry.npmjs.org", "registry.yarnpkg.com",
	// Go modules (the proxy, the checksum database, and the direct
	// fallback for golang.org/x)
	"proxy.golang.org", "sum.golang.org", "golang.org", "go.googlesource.com",
	// crates
	"crates.io", "index.crates.io", "static.crates.io",
	// Debian and Ubuntu apt
	"deb.debian.org", "security.debian.org", "archive.ubuntu.com", "*.archive.ubuntu.com",
	"security.ubuntu.com", "ports.ubuntu.com",
	// GitHub (git over https and ssh, the API, release and raw downloads)
	"github.com", "*.github.com", "*.githubusercontent.com",
}

// Resolver looks names up; *net.Resolver is one, StaticResolver another.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Rule names, used in refusals (the 403 body, the SOCKS log, Denied).
const (
	RuleNotListed  = "not in the allow-list"
	RuleBlocked    = "blocked address"
	RuleRebinding  = "dns rebinding"
	RuleBadRequest = "bad request"
)

// Denial is why a destination was refused.
type Denial struct {
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Rule   string `json:"-"`
	Reason string `json:"reason"` // one sentence naming the rule
}

func (d *Denial) Error() string {
	return fmt.Sprintf("%s: %s", net.JoinHostPort(d.Host, strconv.Itoa(d.Port)), d.Reason)
}

// Policy decides destinations. Build it with NewPolicy; it is immutable and
// safe for concurrent use.
type Policy struct {
	domains  []string       // exact names and "*.suffix" patterns, lower case
	anyHost  bool           // "*": every public address
	cidrs    []netip.Prefix // reachable whatever their range
	hostOwn  []netip.Addr   // the host's own addresses
	resolver Resolver
}

// NewPolicy validates the patterns and CIDRs. hostAddrs are the host's own
// addresses (refused unless an allowed CIDR names them); resolver nil means
// the system's.
func NewPolicy(domains, cidrs []string, hostAddrs []netip.Addr, resolver Resolver) (*Policy, error) {
	p := &Policy{resolver: resolver, hostOwn: hostAddrs}
	if p.resolver == nil {
		p.resolver = net.DefaultResolver
	}
	for _, d := range domains {
		norm, err := NormalizePattern(d)
		if err != nil {
			return nil, err
		}
		if norm == "*" {
			p.anyHost = true
		}
		if !slices.Contains(p.domains, norm) {
			p.domains = append(p.domains, norm)
		}
	}
	for _, c := range cidrs {
		pfx, err := ParseCIDR(c)
		if err != nil {
			return nil, err
		}
		p.cidrs = append(p.cidrs, pfx)
	}
	return p, nil
}

// NormalizePattern checks an --allow-domain value: "*", a host name, or
// "*." followed by a host name (every subdomain, not the name itself).
func NormalizePattern(s string) (string, error) {
	d := strings.ToLower(strings.TrimSpace(s))
	if d != "*." {
		d = strings.TrimSuffix(d, ".")
	}
	if d == "*" {
		return d, nil
	}
	name := strings.TrimPrefix(d, "*.")
	if name == "" || strings.ContainsAny(name, "*/:@ ") || !validHostname(name) {
		return "", fmt.Errorf("allow-domain %q: want a host name (github.com), *.suffix (*.npmjs.org) or *", s)
	}
	return d, nil
}

// ParseCIDR checks an --allow-cidr value: a prefix (10.1.0.0/16) or a
// single address.
func ParseCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if pfx, err := netip.ParsePrefix(s); err == nil {
		return pfx.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("allow-cidr %q: want an address prefix such as 10.1.0.0/16 or 127.0.0.2/32", s)
}

func validHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range label {
			if !(c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
				return false
			}
		}
	}
	return true
}

// Domains returns the allow-list patterns.
func (p *Policy) Domains() []string { return slices.Clone(p.domains) }

// CIDRs returns the allowed prefixes as strings.
func (p *Policy) CIDRs() []string {
	out := make([]string, len(p.cidrs))
	for i, c := range p.cidrs {
		out[i] = c.String()
	}
	return out
}

// matchDomain reports whether name (lower case, no trailing dot) is listed.
func (p *Policy) matchDomain(name string) bool {
	if p.anyHost {
		return true
	}
	for _, d := range p.domains {
		if suffix, ok := strings.CutPrefix(d, "*."); ok {
			if strings.HasSuffix(name, "."+suffix) {
				return true
			}
		} else if name == d {
			return true
		}
	}
	return false
}

func (p *Policy) cidrAllowed(a netip.Addr) bool {
	for _, c := range p.cidrs {
		if c.Contains(a) {
			return true
		}
	}
	return false
}

// blocked says why a is never a public destination ("" when it is one).
func (p *Policy) blocked(a netip.Addr) string {
	switch {
	case a.IsLoopback():
		return "loopback"
	case metadataAddrs[a]:
		return "cloud metadata service"
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return "link-local"
	case a.IsPrivate():
		return "private range"
	case a.IsUnspecified():
		return "unspecified address"
	case a.IsMulticast(), a.IsInterfaceLocalMulticast():
		return "multicast"
	}
	for _, r := range otherReserved {
		if r.pfx.Contains(a) {
			return r.what
		}
	}
	if slices.Contains(p.hostOwn, a) {
		return "the host's own address"
	}
	return ""
}

// metadataAddrs are cloud metadata services outside link-local and private
// ranges (169.254.169.254 and fd00:ec2::254 are caught by those already).
var metadataAddrs = map[netip.Addr]bool{
	netip.MustParseAddr("169.254.169.254"): true,
	netip.MustParseAddr("fd00:ec2::254"):   true,
	netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud
	netip.MustParseAddr("192.0.0.192"):     true, // Oracle Cloud (old)
}

var otherReserved = []struct {
	pfx  netip.Prefix
	what string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\" range"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared (carrier-grade NAT) range"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol range"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking range"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved range"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local NAT64 range"},
	{netip.MustParsePrefix("2001:db8::/32"), "documentation range"},
}

// Check resolves host (a name or an address literal) and decides whether
// port on it may be reached. It returns the addresses to dial (never
// anything else) or a *Denial.
func (p *Policy) Check(ctx context.Context, host string, port int) ([]netip.Addr, error) {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	deny := func(rule, format string, args ...any) ([]netip.Addr, error) {
		return nil, &Denial{Host: host, Port: port, Rule: rule, Reason: rule + ": " + fmt.Sprintf(format, args...)}
	}
	if port < 1 || port > 65535 {
		return deny(RuleBadRequest, "port %d is out of range", port)
	}
	if host == "" {
		return deny(RuleBadRequest, "no host")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		a = a.Unmap().WithZone("")
		if p.cidrAllowed(a) {
			return []netip.Addr{a}, nil
		}
		if why := p.blocked(a); why != "" {
			return deny(RuleBlocked, "%s is a %s address; pass --allow-cidr to reach it", a, why)
		}
		if !p.anyHost {
			return deny(RuleNotListed, "%s is an address literal and the allow-list has no '*'; use a listed name or --allow-cidr", a)
		}
		return []netip.Addr{a}, nil
	}
	if !validHostname(host) {
		return deny(RuleBadRequest, "%q is not a host name", host)
	}
	// An unlisted name is refused before any lookup: resolving it would
	// let the sandbox leak data in DNS queries.
	if !p.matchDomain(host) {
		return deny(RuleNotListed, "%s is not in the allow-list (--allow-domain)", host)
	}
	addrs, err := p.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		if err == nil {
			err = errors.New("no addresses")
		}
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	ok := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap().WithZone("")
		if !p.cidrAllowed(a) {
			// One bad address refuses the name: a listed name pointing
			// inside is a rebinding attempt, whatever else it returns.
			if why := p.blocked(a); why != "" {
				return deny(RuleRebinding, "%s is listed but resolves to %s, a %s address; pass --allow-cidr to reach it", host, a, why)
			}
		}
		ok = append(ok, a)
	}
	return ok, nil
}

// StaticResolver answers from a fixed map (name → addresses) and fails for
// every other name. For tests only: it stands in for DNS so that test names
// can point at addresses on this machine.
type StaticResolver map[string][]netip.Addr

// ParseStaticResolver reads "name=addr,name=addr2,other=addr".
func ParseStaticResolver(s string) (StaticResolver, error) {
	r := StaticResolver{}
	for _, kv := range strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == '\n' || c == ' ' }) {
		name, addr, ok := strings.Cut(kv, "=")
		a, err := netip.ParseAddr(strings.TrimSpace(addr))
		name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
		if !ok || err != nil || !validHostname(name) {
			return nil, fmt.Errorf("resolver entry %q: want name=address", kv)
		}
		r[name] = append(r[name], a)
	}
	return r, nil
}

// LookupNetIP implements Resolver.
func (r StaticResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if a, ok := r[strings.ToLower(host)]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host (test resolver)", Name: host, IsNotFound: true}
}

// HostAddrs lists the addresses of this host's interfaces.
func HostAddrs() []netip.Addr {
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, ia := range ifAddrs {
		if pfx, err := netip.ParsePrefix(ia.String()); err == nil {
			out = append(out, pfx.Addr().Unmap().WithZone(""))
		}
	}
	return out
}
