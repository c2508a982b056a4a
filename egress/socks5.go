package egress

// A SOCKS5 server (RFC 1928), CONNECT only, no authentication. It is small
// and hand-written because no well-kept SOCKS5 server package is served by
// the module proxy here (golang.org/x/net/proxy is a client only; the tests
// drive this server with it).
//
//	client                                   server
//	  ── 05 NMETHODS METHODS… ───────────────▶
//	  ◀──────────────────────────── 05 00 ──── (no authentication; 05 FF if not offered)
//	  ── 05 CMD 00 ATYP ADDR PORT ───────────▶ (CMD 01 CONNECT; ATYP 01 IPv4, 03 name, 04 IPv6)
//	  ◀──────── 05 REP 00 01 0.0.0.0 0 ─────── (REP 00 ok, 02 refused by policy, …)
//	  ◀════════════ tunnel ═══════════════════▶

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// SOCKS5 reply codes.
const (
	socksOK              = 0x00
	socksGeneralFailure  = 0x01
	socksNotAllowed      = 0x02
	socksNetUnreachable  = 0x03
	socksHostUnreachable = 0x04
	socksRefused         = 0x05
	socksCmdUnsupported  = 0x07
	socksAddrUnsupported = 0x08
)

// ServeSOCKS serves SOCKS5 on l until l is closed.
func (p *Proxy) ServeSOCKS(l net.Listener) error {
	l = p.track(l)
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go p.serveSOCKS(c)
	}
}

// socksRequest is a parsed CONNECT request.
type socksRequest struct {
	cmd  byte
	host string // a name or an address literal
	port int
}

var errSocksVersion = errors.New("not SOCKS version 5")

// readSOCKSHandshake reads the greeting and the request. It answers the
// method selection itself; the request's reply is the caller's. A non-nil
// reply code with an error means: send it, then close.
func readSOCKSHandshake(r *bufio.Reader, w io.Writer) (socksRequest, byte, error) {
	var req socksRequest
	hdr := make([]byte, 2)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return req, 0, err
	}
	if hdr[0] != 5 {
		return req, 0, errSocksVersion
	}
	methods := make([]byte, hdr[1])
	if _, err := io.ReadFull(r, methods); err != nil {
		return req, 0, err
	}
	noAuth := false
	for _, m := range methods {
		noAuth = noAuth || m == 0
	}
	if !noAuth {
		_, _ = w.Write([]byte{5, 0xff})
		return req, 0, errors.New("client offers no method without authentication")
	}
	if _, err := w.Write([]byte{5, 0}); err != nil {
		return req, 0, err
	}
	head := make([]byte, 4)
	if _, err := io.ReadFull(r, head); err != nil {
		return req, 0, err
	}
	if head[0] != 5 {
		return req, 0, errSocksVersion
	}
	req.cmd = head[1]
	switch head[3] {
	case 1, 4:
		n := 4
		if head[3] == 4 {
			n = 16
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return req, 0, err
		}
		a, _ := netip.AddrFromSlice(b)
		req.host = a.Unmap().String()
	case 3:
		n, err := r.ReadByte()
		if err != nil {
			return req, 0, err
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return req, 0, err
		}
		req.host = string(b)
	default:
		return req, socksAddrUnsupported, errors.New("unknown address type")
	}
	pb := make([]byte, 2)
	if _, err := io.ReadFull(r, pb); err != nil {
		return req, 0, err
	}
	req.port = int(pb[0])<<8 | int(pb[1])
	if req.cmd != 1 {
		return req, socksCmdUnsupported, errors.New("only CONNECT is supported")
	}
	return req, socksOK, nil
}

func socksReply(w io.Writer, code byte) error {
	_, err := w.Write([]byte{5, code, 0, 1, 0, 0, 0, 0, 0, 0})
	return err
}

func (p *Proxy) serveSOCKS(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	br := bufio.NewReaderSize(c, 512)
	req, code, err := readSOCKSHandshake(br, c)
	if err != nil {
		if code != socksOK {
			_ = socksReply(c, code)
		}
		c.Close()
		return
	}
	up, err := p.Dial(context.Background(), req.host, req.port)
	if err != nil {
		_ = socksReply(c, socksCode(err))
		c.Close()
		return
	}
	if err := socksReply(c, socksOK); err != nil {
		c.Close()
		up.Close()
		return
	}
	_ = c.SetDeadline(time.Time{})
	if n := br.Buffered(); n > 0 { // data sent before our reply
		b, _ := br.Peek(n)
		if _, err := up.Write(b); err != nil {
			c.Close()
			up.Close()
			return
		}
	}
	pipe(c, up)
}

// socksCode maps a Dial error to a reply code.
func socksCode(err error) byte {
	var d *Denial
	switch {
	case errors.As(err, &d):
		return socksNotAllowed
	case errors.As(err, new(*net.DNSError)):
		return socksHostUnreachable
	case errors.Is(err, syscall.ECONNREFUSED):
		return socksRefused
	case errors.Is(err, syscall.ENETUNREACH):
		return socksNetUnreachable
	case errors.Is(err, syscall.EHOSTUNREACH):
		return socksHostUnreachable
	}
	return socksGeneralFailure
}
