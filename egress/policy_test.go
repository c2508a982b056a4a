package egress

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestPolicyCheck(t *testing.T) {
	res, err := ParseStaticResolver("ok.test=93.184.216.34,sub.ok.test=93.184.216.35,rebind.test=10.0.0.5,mixed.test=93.184.216.34,mixed.test=192.168.1.1,inside.test=10.1.2.3,meta.test=169.254.169.254,v6.test=2606:2800:220:1::1,v6local.test=fd00::1")
	if err != nil {
		t.Fatal(err)
	}
	host := []netip.Addr{netip.MustParseAddr("203.0.113.7")}
	p, err := NewPolicy([]string{"ok.test", "*.ok.test", "rebind.test", "mixed.test", "inside.test", "meta.test", "v6.test", "v6local.test", "unresolvable.test"},
		[]string{"10.1.0.0/16"}, host, res)
	if err != nil {
		t.Fatal(err)
	}
	star, err := NewPolicy([]string{"*"}, nil, host, res)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		p        *Policy
		host     string
		port     int
		want     string // first address, or "" for a refusal
		rule     string // expected Denial rule ("" = not a Denial)
		contains string
	}{
		{p, "ok.test", 443, "93.184.216.34", "", ""},
		{p, "OK.Test.", 443, "93.184.216.34", "", ""},
		{p, "sub.ok.test", 80, "93.184.216.35", "", ""},
		{p, "other.test", 80, "", RuleNotListed, "not in the allow-list"},
		{p, "rebind.test", 80, "", RuleRebinding, "resolves to 10.0.0.5, a private range"},
		{p, "mixed.test", 80, "", RuleRebinding, "192.168.1.1"},
		{p, "inside.test", 80, "10.1.2.3", "", ""}, // --allow-cidr lifts the block
		{p, "meta.test", 80, "", RuleRebinding, "cloud metadata"},
		{p, "v6.test", 80, "2606:2800:220:1::1", "", ""},
		{p, "v6local.test", 80, "", RuleRebinding, "private range"},
		{p, "169.254.169.254", 80, "", RuleBlocked, "cloud metadata"},
		{p, "127.0.0.1", 22, "", RuleBlocked, "loopback"},
		{p, "[::1]", 22, "", RuleBlocked, "loopback"},
		{p, "::ffff:127.0.0.1", 22, "", RuleBlocked, "loopback"},
		{p, "0.0.0.0", 22, "", RuleBlocked, "unspecified"},
		{p, "100.100.100.200", 80, "", RuleBlocked, "metadata"},
		{p, "fe80::1", 80, "", RuleBlocked, "link-local"},
		{p, "172.16.0.1", 80, "", RuleBlocked, "private"},
		{p, "203.0.113.7", 80, "", RuleBlocked, "the host's own address"},
		{p, "10.1.9.9", 80, "10.1.9.9", "", ""},
		{p, "93.184.216.34", 80, "", RuleNotListed, "address literal"},
		{star, "93.184.216.34", 80, "93.184.216.34", "", ""},
		{star, "anything.test", 80, "", "", "resolve"},
		{star, "192.168.0.1", 80, "", RuleBlocked, "private"},
		{p, "ok.test", 0, "", RuleBadRequest, "port"},
		{p, "bad host", 80, "", RuleBadRequest, "not a host name"},
		{p, "unresolvable.test", 80, "", "", "resolve unresolvable.test"},
	}
	for _, tt := range tests {
		addrs, err := tt.p.Check(context.Background(), tt.host, tt.port)
		if tt.want != "" {
			if err != nil || len(addrs) == 0 || addrs[0].String() != tt.want {
				t.Errorf("Check(%q, %d) = %v, %v; want %s", tt.host, tt.port, addrs, err, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("Check(%q, %d) = %v; want a refusal", tt.host, tt.port, addrs)
			continue
		}
		var d *Denial
		isDenial := errors.As(err, &d)
		if (tt.rule != "") != isDenial || (isDenial && d.Rule != tt.rule) || !strings.Contains(err.Error(), tt.contains) {
			t.Errorf("Check(%q, %d) error = %v (denial %v); want rule %q containing %q", tt.host, tt.port, err, isDenial, tt.rule, tt.contains)
		}
	}
}

func TestNormalizePattern(t *testing.T) {
	for in, want := range map[string]string{"GitHub.com.": "github.com", "*.npmjs.org": "*.npmjs.org", " * ": "*"} {
		if got, err := NormalizePattern(in); err != nil || got != want {
			t.Errorf("NormalizePattern(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "*.", "a.*.com", "http://x.com", "x.com/path", "user@x.com", "x.com:443", "**"} {
		if _, err := NormalizePattern(bad); err == nil {
			t.Errorf("NormalizePattern(%q) accepted", bad)
		}
	}
}

// countingResolver records every name looked up.
type countingResolver struct{ names []string }

func (r *countingResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.names = append(r.names, host)
	return []netip.Addr{netip.MustParseAddr("93.184.216.34")}, nil
}

// TestUnlistedNameNotResolved: an unlisted name is refused before any DNS
// query, so the sandbox cannot carry data out in the names it asks for.
func TestUnlistedNameNotResolved(t *testing.T) {
	r := &countingResolver{}
	p, err := NewPolicy([]string{"ok.test"}, nil, nil, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"c2VjcmV0.exfil.test", "ok.test.exfil.test", "xok.test"} {
		if _, err := p.Check(context.Background(), h, 443); err == nil {
			t.Errorf("%s allowed", h)
		}
	}
	if len(r.names) != 0 {
		t.Errorf("looked up %v", r.names)
	}
	if _, err := p.Check(context.Background(), "ok.test", 443); err != nil || len(r.names) != 1 {
		t.Errorf("listed name: %v, lookups %v", err, r.names)
	}
}
