// Package egress is the sandbox's way out in network mode "allow": a
// filtering proxy that speaks HTTP (CONNECT and plain forwarding, on
// net/http) and SOCKS5 (CONNECT only), serves connections from any
// net.Listener, and decides every destination with one Policy.
//
// The policy resolves names itself and dials only the addresses it checked
// (so a name cannot resolve to one address for the check and another for the
// connection). It refuses, whatever the allow-list says, loopback,
// link-local (the cloud metadata addresses included), private and other
// non-public ranges and the host's own addresses, unless --allow-cidr names
// them; a listed name that resolves to such an address is refused as DNS
// rebinding. Refusals are an HTTP 403 whose body names the rule, or SOCKS
// reply 2 ("connection not allowed by ruleset"); each is logged and kept in
// a bounded list (Proxy.Denied).
//
// It knows nothing about MCP or Linux namespaces: isolation hands it the
// connections that sandbox programs open to 127.0.0.1:3128 and :1080.
package egress
