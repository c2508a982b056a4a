package isolation

// Connections across the sandbox's network namespace, both ways, without
// the server ever entering it (it never calls setns):
//
//	outbound (mode allow): init listens on ProxyHTTPAddr and ProxySOCKSAddr
//	inside; each accepted socket travels to the server by SCM_RIGHTS over a
//	SOCK_SEQPACKET socketpair given to init with the "isolation.listen" op
//	(one message per connection: 1 byte = the listener's index, 1 fd).
//	The server serves it directly (no copy through init).
//
//	inbound (expose_port): the "isolation.dial" op connects to 127.0.0.1:port
//	inside and replies with the connected socket.
//
// The listening-port scan ("isolation.listening") reads the namespace's
// /proc/net/tcp{,6} and maps socket inodes to sandbox processes.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

const (
	opListen    = "isolation.listen"
	opDial      = "isolation.dial"
	opListening = "isolation.listening"
)

type listenReq struct {
	Addrs []string `json:"addrs"`
}

type dialReq struct {
	Port int `json:"port"`
}

type dialResp struct {
	Addr string `json:"addr"`
}

type listeningReq struct {
	Pids []int `json:"pids"` // roots: each gets its own and its descendants' ports
}

type listeningResp struct {
	Ports map[int][]ListeningPort `json:"ports"` // root pid → ports
}

func init() {
	RegisterOp(opListen, listenOp)
	RegisterOp(opDial, dialOp)
	RegisterOp(opListening, listeningOp)
}

// listenOp runs in init: listen on each address and hand every accepted
// connection to the server over files[0]. The listeners live until the
// server closes its end of the socketpair.
func listenOp(_ context.Context, raw json.RawMessage, files []*os.File) (any, error) {
	var req listenReq
	if err := json.Unmarshal(raw, &req); err != nil || len(req.Addrs) == 0 || len(req.Addrs) > 16 || len(files) != 1 {
		return nil, &OpError{Op: "listen", Kind: "invalid", Msg: "want addresses and one socket"}
	}
	// The op's files are closed when it returns: keep a copy.
	sock, err := unix.FcntlInt(files[0].Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, &OpError{Op: "listen", Kind: "io", Msg: err.Error()}
	}
	var lns []net.Listener
	for _, a := range req.Addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			unix.Close(sock)
			return nil, &OpError{Op: "listen", Path: a, Kind: errnoKind(err), Msg: err.Error()}
		}
		lns = append(lns, ln)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			for _, l := range lns {
				l.Close()
			}
		})
	}
	var wg sync.WaitGroup
	for i, ln := range lns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			forwardAccepted(ln, byte(i), sock)
			stop()
		}()
	}
	go func() { // EOF from the server: stop listening
		var b [16]byte
		for {
			n, _, err := unix.Recvfrom(sock, b[:], 0)
			if err == unix.EINTR {
				continue
			}
			if n == 0 || err != nil {
				break
			}
		}
		stop()
		wg.Wait()
		unix.Close(sock)
	}()
	return nil, nil
}

// forwardAccepted sends every connection ln accepts over sock, tagged idx.
func forwardAccepted(ln net.Listener, idx byte, sock int) {
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return
		}
		sc, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			c.Close()
			continue
		}
		var serr error
		_ = sc.Control(func(fd uintptr) {
			for {
				serr = unix.Sendmsg(sock, []byte{idx}, unix.UnixRights(int(fd)), nil, 0)
				if serr != unix.EINTR {
					return
				}
			}
		})
		c.Close()
		if serr != nil {
			return // the server is gone
		}
	}
}

// dialOp runs in init: connect to port on the sandbox's loopback and reply
// with the connected socket.
func dialOp(ctx context.Context, raw json.RawMessage, _ []*os.File) (any, error) {
	var req dialReq
	if err := json.Unmarshal(raw, &req); err != nil || req.Port < 1 || req.Port > 65535 {
		return nil, &OpError{Op: "dial", Kind: "invalid", Msg: "port must be 1-65535"}
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	var firstErr error
	for _, host := range []string{"127.0.0.1", "::1"} {
		addr := net.JoinHostPort(host, strconv.Itoa(req.Port))
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		f, err := c.(*net.TCPConn).File()
		c.Close()
		if err != nil {
			return nil, &OpError{Op: "dial", Kind: "io", Msg: err.Error()}
		}
		fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		f.Close()
		if err != nil {
			return nil, &OpError{Op: "dial", Kind: "io", Msg: err.Error()}
		}
		return FileResult{Value: dialResp{Addr: addr}, Fds: []int{fd}}, nil
	}
	kind := "io"
	if errors.Is(firstErr, syscall.ECONNREFUSED) {
		kind = "refused"
	}
	return nil, &OpError{Op: "dial", Path: "127.0.0.1:" + strconv.Itoa(req.Port), Kind: kind, Msg: firstErr.Error()}
}

// listenSocks reads the LISTEN sockets of init's network namespace:
// inode → port and bound address.
func listenSocks() map[uint64]ListeningPort {
	out := map[uint64]ListeningPort{}
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 4096), 4096)
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != "0A" {
				continue
			}
			hexAddr, hexPort, ok := strings.Cut(fs[1], ":")
			port, err1 := strconv.ParseUint(hexPort, 16, 16)
			inode, err2 := strconv.ParseUint(fs[9], 10, 64)
			if !ok || err1 != nil || err2 != nil || inode == 0 {
				continue
			}
			out[inode] = ListeningPort{Port: int(port), Addr: procNetAddr(hexAddr)}
		}
		f.Close()
	}
	return out
}

// procNetAddr decodes /proc/net/tcp's address: 32-bit words in host (little
// endian here) order.
func procNetAddr(h string) string {
	if len(h) != 8 && len(h) != 32 {
		return h
	}
	b := make([]byte, 0, 16)
	for w := 0; w < len(h); w += 8 {
		v, err := strconv.ParseUint(h[w:w+8], 16, 32)
		if err != nil {
			return h
		}
		b = append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	return net.IP(b).String()
}

// listeningOp runs in init: the listening TCP ports of each requested
// process and its descendants.
func listeningOp(_ context.Context, raw json.RawMessage, _ []*os.File) (any, error) {
	var req listeningReq
	if err := json.Unmarshal(raw, &req); err != nil || len(req.Pids) > 4096 {
		return nil, &OpError{Op: "listening", Kind: "invalid", Msg: "bad request"}
	}
	resp := listeningResp{Ports: map[int][]ListeningPort{}}
	socks := listenSocks()
	if len(socks) == 0 || len(req.Pids) == 0 {
		return resp, nil
	}
	procs := scanProcs()
	self := os.Getpid()
	for pid := range procs {
		if pid == self {
			continue
		}
		var roots []int
		for _, r := range req.Pids {
			if r > 0 && (pid == r || procs.descendsFrom(pid, r)) {
				roots = append(roots, r)
			}
		}
		if len(roots) == 0 {
			continue
		}
		for _, lp := range socketsOf(pid, socks) {
			for _, r := range roots {
				resp.Ports[r] = appendPort(resp.Ports[r], lp)
			}
		}
	}
	return resp, nil
}

func appendPort(ps []ListeningPort, lp ListeningPort) []ListeningPort {
	for _, p := range ps {
		if p.Port == lp.Port && p.Addr == lp.Addr {
			return ps
		}
	}
	return append(ps, lp)
}

// socketsOf lists the listening sockets among pid's open fds.
func socketsOf(pid int, socks map[uint64]ListeningPort) []ListeningPort {
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	f, err := os.Open(dir)
	if err != nil {
		return nil
	}
	names, _ := f.Readdirnames(65536)
	f.Close()
	var out []ListeningPort
	for _, n := range names {
		link, err := os.Readlink(dir + "/" + n)
		if err != nil {
			continue
		}
		s, ok := strings.CutPrefix(link, "socket:[")
		if !ok {
			continue
		}
		inode, err := strconv.ParseUint(strings.TrimSuffix(s, "]"), 10, 64)
		if err != nil {
			continue
		}
		if lp, ok := socks[inode]; ok {
			lp.Pid = pid
			out = append(out, lp)
		}
	}
	return out
}

// ListenInside asks init to listen on addrs inside the sandbox's network
// namespace and returns one listener per address, in the server, whose
// Accept yields the connections sandbox programs open there. Closing every
// returned listener stops init's listeners.
func (s *Sandbox) ListenInside(ctx context.Context, addrs ...string) ([]net.Listener, error) {
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	initEnd := os.NewFile(uintptr(sp[1]), "sbx-listen-init")
	err = s.Do(ctx, opListen, listenReq{Addrs: addrs}, nil, initEnd)
	initEnd.Close()
	if err != nil {
		unix.Close(sp[0])
		return nil, err
	}
	f := os.NewFile(uintptr(sp[0]), "sbx-listen")
	fc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	uc := fc.(*net.UnixConn)
	g := &fwdGroup{uc: uc}
	ls := make([]*fwdListener, len(addrs))
	out := make([]net.Listener, len(addrs))
	for i, a := range addrs {
		ls[i] = &fwdListener{g: g, addr: fwdAddr(a), ch: make(chan net.Conn, 16), done: make(chan struct{})}
		out[i] = ls[i]
	}
	g.ls = ls
	go g.receive()
	return out, nil
}

// fwdGroup is the server's end of one listen op: a single reader dispatches
// received sockets to the listeners.
type fwdGroup struct {
	uc     *net.UnixConn
	ls     []*fwdListener
	mu     sync.Mutex
	closed int
}

func (g *fwdGroup) receive() {
	defer func() {
		g.uc.Close()
		for _, l := range g.ls {
			l.Close()
		}
	}()
	buf := make([]byte, 4)
	oob := make([]byte, unix.CmsgSpace(4))
	for {
		n, oobn, flags, _, err := g.uc.ReadMsgUnix(buf, oob)
		if err != nil || (n == 0 && oobn == 0) {
			return
		}
		var fds []int
		if cmsgs, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil {
			for _, cm := range cmsgs {
				if got, ferr := unix.ParseUnixRights(&cm); ferr == nil {
					fds = append(fds, got...)
				}
			}
		}
		if n != 1 || len(fds) != 1 || int(buf[0]) >= len(g.ls) || flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
			for _, fd := range fds {
				unix.Close(fd)
			}
			continue
		}
		f := os.NewFile(uintptr(fds[0]), "sbx-fwd")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			continue
		}
		g.ls[buf[0]].deliver(c)
	}
}

type fwdListener struct {
	g         *fwdGroup
	addr      net.Addr
	ch        chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func (l *fwdListener) deliver(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *fwdListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *fwdListener) Close() error {
	l.closeOnce.Do(func() {
		close(l.done)
		l.g.mu.Lock()
		l.g.closed++
		all := l.g.closed == len(l.g.ls)
		l.g.mu.Unlock()
		if all {
			l.g.uc.Close() // init sees EOF and stops listening
		}
		for {
			select {
			case c := <-l.ch:
				c.Close()
			default:
				return
			}
		}
	})
	return nil
}

func (l *fwdListener) Addr() net.Addr { return l.addr }

type fwdAddr string

func (a fwdAddr) Network() string { return "tcp" }
func (a fwdAddr) String() string  { return string(a) + " (inside the sandbox)" }

// ErrConnRefused is DialInside's error when nothing listens on the port.
var ErrConnRefused = errors.New("connection refused: nothing listens on that port inside the sandbox")

// DialInside connects to port on the sandbox's loopback (127.0.0.1, then
// ::1) from inside its network namespace and returns the connection.
func (s *Sandbox) DialInside(ctx context.Context, port int) (net.Conn, error) {
	files, err := s.DoFiles(ctx, opDial, dialReq{Port: port}, nil)
	if err != nil {
		var oe *OpError
		if errors.As(err, &oe) && oe.Kind == "refused" {
			return nil, fmt.Errorf("port %d: %w", port, ErrConnRefused)
		}
		return nil, err
	}
	if len(files) != 1 {
		closeAll(files)
		return nil, fmt.Errorf("dial port %d: no socket in the reply", port)
	}
	c, err := net.FileConn(files[0])
	files[0].Close()
	return c, err
}

// ListeningPorts returns, for each pid (as seen inside the sandbox), the TCP
// ports it or its descendants listen on.
func (s *Sandbox) ListeningPorts(ctx context.Context, pids []int) (map[int][]ListeningPort, error) {
	var resp listeningResp
	if err := s.Do(ctx, opListening, listeningReq{Pids: pids}, &resp); err != nil {
		return nil, err
	}
	return resp.Ports, nil
}

// startNetwork settles the network mode after init said hello: in mode
// allow with a namespace, it starts the proxy listeners and adds the proxy
// variables to the environment; without a namespace the sandbox has the
// host's network (a gap in reasons).
func (s *Sandbox) startNetwork(ctx context.Context, netNS bool, reasons []string) []string {
	s.netMode = s.cfg.Network
	if !netNS {
		s.netMode = NetworkHost
		return reasons
	}
	if s.cfg.Network != NetworkAllow {
		return reasons
	}
	if s.cfg.Proxy == nil {
		return append(reasons, "net_egress: no proxy configured; the sandbox has loopback only")
	}
	ls, err := s.ListenInside(ctx, ProxyHTTPAddr, ProxySOCKSAddr)
	if err != nil {
		return append(reasons, fmt.Sprintf("net_egress: cannot listen on the proxy ports inside (%v); the sandbox has loopback only", err))
	}
	go s.cfg.Proxy(ls[0], ls[1])
	for _, kv := range proxyEnv() { // --env may override them
		k, _, _ := strings.Cut(kv, "=")
		if !hasEnvKey(s.cfg.Env, k) {
			s.env = setEnv(s.env, kv)
		}
	}
	return reasons
}

// NetworkMode is the network mode reached: allow, none or host (allow
// degrades to host where no network namespace is possible).
func (s *Sandbox) NetworkMode() string { return s.netMode }

func hasEnvKey(env []string, key string) bool {
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			return true
		}
	}
	return false
}

// resolvConf replaces /etc/resolv.conf in a sandbox with its own network
// namespace: nothing answers DNS there, so a lookup that bypasses the
// proxy fails at once instead of waiting for a timeout.
const resolvConf = `# sbx-mcp: this sandbox has its own network namespace. In network mode
# allow it reaches out only through the proxy (HTTP_PROXY, HTTPS_PROXY:
# http://127.0.0.1:3128; ALL_PROXY: socks5h://127.0.0.1:1080), which
# resolves names itself. Nothing answers DNS here: direct lookups fail.
nameserver 127.0.0.1
options timeout:1 attempts:1
`

// setupResolvConf binds a file holding resolvConf over /etc/resolv.conf in
// init's mount namespace (stage 1, before any sandbox process exists).
func setupResolvConf(cfg *initConfig, st *initStatus) {
	if !cfg.NetNS || st.Fatal != "" || !st.RunDirTmp {
		return
	}
	src := st.RunDir + "/resolv.conf"
	if err := os.WriteFile(src, []byte(resolvConf), 0o644); err != nil {
		st.gap("net_dns: write %s: %v", src, err)
		return
	}
	if err := unix.Mount(src, "/etc/resolv.conf", "", unix.MS_BIND, ""); err != nil {
		st.gap("net_dns: bind over /etc/resolv.conf: %v (direct DNS lookups may wait for a timeout)", err)
	}
}
