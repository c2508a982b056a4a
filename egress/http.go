package egress

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"strconv"
	"sync"
	"time"
)

// ServeHTTPProxy serves HTTP proxy requests on l until l is closed: CONNECT
// tunnels, and absolute-form requests (GET http://host/path) forwarded with
// httputil.ReverseProxy. Each destination goes through Dial.
func (p *Proxy) ServeHTTPProxy(l net.Listener) error {
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			host, port, err := splitHostPort(addr, 80)
			if err != nil {
				return nil, err
			}
			return p.Dial(ctx, host, port)
		},
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       60 * time.Second,
		ResponseHeaderTimeout: 5 * time.Minute,
		ForceAttemptHTTP2:     false,
	}
	defer tr.CloseIdleConnections()
	h := &httpProxy{p: p, rp: &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			// The request is already absolute; keep it as the client sent
			// it (no X-Forwarded-*: the sandbox's address is nobody's
			// business).
			pr.Out.Host = pr.In.Host
		},
		Transport:    tr,
		BufferPool:   bufPool{},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) { p.httpError(w, r.Host, err) },
		ErrorLog:     log.New(discard{}, "", 0),
	}}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: handshakeTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          log.New(discard{}, "", 0),
	}
	return srv.Serve(p.track(l))
}

type httpProxy struct {
	p  *Proxy
	rp *httputil.ReverseProxy
}

func (h *httpProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		h.connect(w, r)
		return
	}
	if !r.URL.IsAbs() || r.URL.Scheme != "http" || r.URL.Host == "" {
		http.Error(w, "sbx-mcp egress proxy: send CONNECT host:port, or an absolute http:// URL (for https use CONNECT)", http.StatusBadRequest)
		return
	}
	h.rp.ServeHTTP(w, r)
}

// connect opens a CONNECT tunnel.
func (h *httpProxy) connect(w http.ResponseWriter, r *http.Request) {
	host, port, err := splitHostPort(r.Host, 0)
	if err != nil {
		http.Error(w, "sbx-mcp egress proxy: CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	up, err := h.p.Dial(r.Context(), host, port)
	if err != nil {
		h.p.httpError(w, r.Host, err)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "sbx-mcp egress proxy: cannot tunnel on this connection", http.StatusInternalServerError)
		return
	}
	c, brw, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		c.Close()
		up.Close()
		return
	}
	// Bytes the client sent right after its request (a TLS hello) may sit
	// in the server's read buffer.
	if n := brw.Reader.Buffered(); n > 0 {
		b, _ := brw.Reader.Peek(n)
		if _, err := up.Write(b); err != nil {
			c.Close()
			up.Close()
			return
		}
	}
	pipe(c, up)
}

// httpError answers a refusal with 403 and a body naming the rule, other
// failures with 502.
func (p *Proxy) httpError(w http.ResponseWriter, target string, err error) {
	var d *Denial
	if errors.As(err, &d) {
		w.Header().Set("X-Sbx-Egress-Denied", d.Rule)
		http.Error(w, fmt.Sprintf("sbx-mcp egress proxy refused %s: %s", target, d.Reason), http.StatusForbidden)
		return
	}
	http.Error(w, fmt.Sprintf("sbx-mcp egress proxy: %s: %v", target, err), http.StatusBadGateway)
}

// splitHostPort splits "host:port" (def when the port is missing and def > 0).
func splitHostPort(hostport string, def int) (string, int, error) {
	host, ps, err := net.SplitHostPort(hostport)
	if err != nil {
		if def > 0 {
			return hostport, def, nil
		}
		return "", 0, err
	}
	port, err := strconv.Atoi(ps)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("bad port %q", ps)
	}
	return host, port, nil
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

type bufPool struct{}

func (bufPool) Get() []byte  { return *(copyBufs.Get().(*[]byte)) }
func (bufPool) Put(b []byte) { copyBufs.Put(&b) }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
