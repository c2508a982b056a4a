package egress

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Defaults of Options.
const (
	DefaultMaxConns    = 1024
	DefaultDialTimeout = 30 * time.Second
	keptDenials        = 50
	handshakeTimeout   = 30 * time.Second
)

// Options configure a Proxy.
type Options struct {
	Policy      *Policy
	Log         zerolog.Logger
	MaxConns    int           // concurrent client connections (DefaultMaxConns)
	DialTimeout time.Duration // per upstream connection (DefaultDialTimeout)
}

// DenialRecord is one refusal, as sandbox_info shows it.
type DenialRecord struct {
	Host   string    `json:"host"`
	Port   int       `json:"port"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Proxy serves HTTP and SOCKS5 proxy connections under one Policy.
type Proxy struct {
	policy      *Policy
	log         zerolog.Logger
	dialTimeout time.Duration
	slots       chan struct{} // one per open client connection

	mu       sync.Mutex
	denied   []DenialRecord // ring of the last keptDenials, oldest first
	logTimes []time.Time    // recent refusal log lines (rate limit)
	quiet    int            // refusals not logged since the last line

	closed    atomic.Bool
	lnMu      sync.Mutex
	listeners []net.Listener
}

// New returns a proxy; serve it with ServeHTTPProxy and ServeSOCKS.
func New(o Options) *Proxy {
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	return &Proxy{policy: o.Policy, log: o.Log, dialTimeout: o.DialTimeout, slots: make(chan struct{}, o.MaxConns)}
}

// Policy is the proxy's policy.
func (p *Proxy) Policy() *Policy { return p.policy }

// Denied returns the most recent refusals, oldest first.
func (p *Proxy) Denied() []DenialRecord {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]DenialRecord{}, p.denied...)
}

// Close closes the listeners given to the Serve methods. Tunnels already
// open end when either side closes.
func (p *Proxy) Close() {
	p.closed.Store(true)
	p.lnMu.Lock()
	defer p.lnMu.Unlock()
	for _, l := range p.listeners {
		l.Close()
	}
}

func (p *Proxy) track(l net.Listener) net.Listener {
	p.lnMu.Lock()
	defer p.lnMu.Unlock()
	if p.closed.Load() {
		l.Close()
	}
	p.listeners = append(p.listeners, l)
	return &limitListener{Listener: l, slots: p.slots}
}

// Dial checks host:port against the policy and connects to one of the
// addresses the policy vetted (never re-resolving). A refusal is a *Denial,
// recorded and logged.
func (p *Proxy) Dial(ctx context.Context, host string, port int) (net.Conn, error) {
	addrs, err := p.policy.Check(ctx, host, port)
	if err != nil {
		p.refused(err)
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, p.dialTimeout)
	defer cancel()
	var d net.Dialer
	var firstErr error
	for _, a := range addrs {
		c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("connect to %s: %w", net.JoinHostPort(host, strconv.Itoa(port)), firstErr)
}

// refused records a denial and logs it (at most 10 lines a second; the
// rest are counted in the next line).
func (p *Proxy) refused(err error) {
	var d *Denial
	if !errors.As(err, &d) {
		return
	}
	now := time.Now()
	p.mu.Lock()
	if len(p.denied) == keptDenials {
		copy(p.denied, p.denied[1:])
		p.denied = p.denied[:keptDenials-1]
	}
	p.denied = append(p.denied, DenialRecord{Host: d.Host, Port: d.Port, Reason: d.Reason, At: now.UTC()})
	for len(p.logTimes) > 0 && now.Sub(p.logTimes[0]) > time.Second {
		p.logTimes = p.logTimes[1:]
	}
	logIt := len(p.logTimes) < 10
	quiet := p.quiet
	if logIt {
		p.logTimes = append(p.logTimes, now)
		p.quiet = 0
	} else {
		p.quiet++
	}
	p.mu.Unlock()
	if logIt {
		ev := p.log.Warn().Str("host", d.Host).Int("port", d.Port).Str("reason", d.Reason)
		if quiet > 0 {
			ev = ev.Int("not_logged_before", quiet)
		}
		ev.Msg("egress refused")
	}
}

// limitListener bounds open client connections: Accept waits for a slot,
// and the slot is freed when the connection is closed.
type limitListener struct {
	net.Listener
	slots chan struct{}
}

func (l *limitListener) Accept() (net.Conn, error) {
	l.slots <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &slotConn{Conn: c, slots: l.slots}, nil
}

// slotConn frees its slot once, on the first Close. Unwrap gives the
// underlying connection so copies can splice between sockets.
type slotConn struct {
	net.Conn
	slots chan struct{}
	once  sync.Once
}

func (c *slotConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { <-c.slots })
	return err
}

func (c *slotConn) Unwrap() net.Conn { return c.Conn }

func unwrap(c net.Conn) net.Conn {
	for {
		u, ok := c.(interface{ Unwrap() net.Conn })
		if !ok {
			return c
		}
		c = u.Unwrap()
	}
}

// pipe copies both ways until both directions end, then closes both.
// Copies run between the unwrapped sockets (splice(2) between TCP sockets).
func pipe(client, upstream net.Conn) {
	a, b := unwrap(client), unwrap(upstream)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := io.Copy(b, a); err != nil {
			client.Close()
			upstream.Close()
		}
		closeWrite(b)
	}()
	if _, err := io.Copy(a, b); err != nil {
		client.Close()
		upstream.Close()
	}
	closeWrite(a)
	<-done
	client.Close()
	upstream.Close()
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		c.Close()
	}
}
