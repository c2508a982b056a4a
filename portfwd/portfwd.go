// Package portfwd brings TCP ports from inside the sandbox's network
// namespace to the host's loopback (expose_port): the server listens on
// 127.0.0.1:N, and for each accepted connection asks the sandbox for a
// connected socket to 127.0.0.1:port inside (isolation.Sandbox.DialInside,
// passed back by SCM_RIGHTS) and copies both ways. It knows nothing about
// MCP.
package portfwd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Dialer connects to a port inside the sandbox.
type Dialer interface {
	DialInside(ctx context.Context, port int) (net.Conn, error)
}

// MaxConns bounds the open connections of one exposed port.
const MaxConns = 512

// Errors.
var (
	ErrNotExposed = errors.New("port is not exposed")
	ErrConflict   = errors.New("port is already exposed on another host port")
)

// Exposure is one exposed port.
type Exposure struct {
	Port        int       `json:"port" jsonschema_description:"Port inside the sandbox."`
	HostPort    int       `json:"host_port" jsonschema_description:"Port on the host's 127.0.0.1."`
	URL         string    `json:"url" jsonschema_description:"http://127.0.0.1:host_port"`
	CreatedAt   time.Time `json:"created_at"`
	Connections int64     `json:"connections" jsonschema_description:"Connections accepted so far."`
	Active      int64     `json:"active" jsonschema_description:"Connections open now."`
}

// Manager owns the exposed ports of one sandbox.
type Manager struct {
	d   Dialer
	log zerolog.Logger

	mu     sync.Mutex
	ports  map[int]*fwd // by sandbox port
	closed bool
}

// New returns a Manager dialing through d.
func New(d Dialer, log zerolog.Logger) *Manager {
	return &Manager{d: d, log: log, ports: map[int]*fwd{}}
}

type fwd struct {
	m       *Manager
	port    int
	ln      net.Listener
	created time.Time

	mu     sync.Mutex
	total  int64
	active map[net.Conn]struct{}
	slots  chan struct{}
}

// Expose listens on 127.0.0.1:hostPort (0: a free port) and forwards each
// connection to port inside the sandbox. Exposing an exposed port again
// returns the existing exposure (hostPort 0 or the same).
func (m *Manager) Expose(port, hostPort int) (Exposure, error) {
	if port < 1 || port > 65535 || hostPort < 0 || hostPort > 65535 {
		return Exposure{}, fmt.Errorf("port must be 1-65535 and host_port 0-65535")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Exposure{}, errors.New("port forwarding is shut down")
	}
	if f := m.ports[port]; f != nil {
		if hostPort != 0 && hostPort != f.hostPort() {
			return Exposure{}, fmt.Errorf("port %d: %w (%d); unexpose it first", port, ErrConflict, f.hostPort())
		}
		return f.info(), nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(hostPort)))
	if err != nil {
		return Exposure{}, fmt.Errorf("listen on 127.0.0.1:%d: %w", hostPort, err)
	}
	f := &fwd{m: m, port: port, ln: ln, created: time.Now().UTC(), active: map[net.Conn]struct{}{}, slots: make(chan struct{}, MaxConns)}
	m.ports[port] = f
	go f.serve()
	return f.info(), nil
}

// List returns the exposed ports, by sandbox port.
func (m *Manager) List() []Exposure {
	m.mu.Lock()
	fs := make([]*fwd, 0, len(m.ports))
	for _, f := range m.ports {
		fs = append(fs, f)
	}
	m.mu.Unlock()
	out := make([]Exposure, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

// Unexpose closes the listener and every open connection of port.
func (m *Manager) Unexpose(port int) (Exposure, error) {
	m.mu.Lock()
	f := m.ports[port]
	delete(m.ports, port)
	m.mu.Unlock()
	if f == nil {
		return Exposure{}, fmt.Errorf("port %d: %w", port, ErrNotExposed)
	}
	in := f.info()
	f.close()
	return in, nil
}

// Close unexposes everything.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	fs := m.ports
	m.ports = map[int]*fwd{}
	m.mu.Unlock()
	for _, f := range fs {
		f.close()
	}
}

func (f *fwd) hostPort() int { return f.ln.Addr().(*net.TCPAddr).Port }

func (f *fwd) info() Exposure {
	f.mu.Lock()
	defer f.mu.Unlock()
	hp := f.hostPort()
	return Exposure{Port: f.port, HostPort: hp, URL: fmt.Sprintf("http://127.0.0.1:%d", hp), CreatedAt: f.created,
		Connections: f.total, Active: int64(len(f.active))}
}

func (f *fwd) serve() {
	for {
		f.slots <- struct{}{}
		c, err := f.ln.Accept()
		if err != nil {
			<-f.slots
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if !f.track(c) {
			c.Close()
			<-f.slots
			return
		}
		go f.forward(c)
	}
}

// track registers c; false once the forward is closed.
func (f *fwd) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.active == nil {
		return false
	}
	f.active[c] = struct{}{}
	f.total++
	return true
}

func (f *fwd) untrack(cs ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		delete(f.active, c)
	}
}

func (f *fwd) forward(c net.Conn) {
	defer func() { <-f.slots }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	in, err := f.m.d.DialInside(ctx, f.port)
	cancel()
	if err != nil {
		f.m.log.Debug().Err(err).Int("port", f.port).Msg("expose: dial inside")
		f.untrack(c)
		c.Close()
		return
	}
	if !f.track(in) {
		in.Close()
		f.untrack(c)
		c.Close()
		return
	}
	pipe(c, in)
	f.untrack(c, in)
}

func (f *fwd) close() {
	f.ln.Close()
	f.mu.Lock()
	conns := f.active
	f.active = nil
	f.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// pipe copies both ways (splice between the sockets) until both directions
// end or one fails, then closes both.
func pipe(a, b net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := io.Copy(b, a); err != nil {
			a.Close()
			b.Close()
		}
		closeWrite(b)
	}()
	if _, err := io.Copy(a, b); err != nil {
		a.Close()
		b.Close()
	}
	closeWrite(a)
	<-done
	a.Close()
	b.Close()
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	} else {
		c.Close()
	}
}
