package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"
)

// egressSize is the download measured through the proxy.
const egressSize = 100 << 20

// stepArgs are extra server flags of steps that need them (after the ones
// given after "--"). The egress step: mode allow, with bench.test mapped to
// the loopback server (127.0.0.2 is loopback, so --allow-cidr must name it).
var stepArgs = map[string][]string{
	"egress": {"--network", "allow", "--allow-domain", "bench.test", "--allow-cidr", "127.0.0.2/32", "--test-resolve", "bench.test=127.0.0.2"},
}

// loopbackServer serves /big (egressSize bytes) and /tiny on 127.0.0.2.
func loopbackServer() (port int, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		return 0, nil, fmt.Errorf("listen on 127.0.0.2: %w", err)
	}
	chunk := make([]byte, 1<<20)
	for i := range chunk {
		chunk[i] = byte('a' + i%26)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/big" {
			io.WriteString(w, "ok")
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(egressSize))
		for n := 0; n < egressSize; n += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})}
	go srv.Serve(l)
	return l.Addr().(*net.TCPAddr).Port, func() { srv.Close() }, nil
}

// egress measures the proxy of network mode allow from inside the sandbox
// with curl: a 100 MiB download through plain HTTP forwarding and through a
// CONNECT tunnel (best of three each), and the time to the first response
// byte of a tiny request through the proxy against curl on the host going
// straight to the server (the difference is what the proxy adds).
func (b *bench) egress(ctx context.Context, s *server) ([]row, error) {
	if _, err := exec.LookPath("curl"); err != nil {
		return nil, fmt.Errorf("curl is needed on the host for the egress step")
	}
	port, stop, err := loopbackServer()
	if err != nil {
		return nil, err
	}
	defer stop()
	if _, err := s.sh(ctx, `test -n "$http_proxy" && command -v curl >/dev/null`); err != nil {
		return nil, fmt.Errorf("no proxy variables or no curl inside the sandbox (is the network mode allow?): %w", err)
	}
	big := fmt.Sprintf("http://bench.test:%d/big", port)
	// The same download by curl on the host, straight to the server: what
	// this machine can do without the proxy (a note on each row).
	var directBest float64
	for range 3 {
		out, err := exec.CommandContext(ctx, "curl", "-sS", "--noproxy", "*", "-o", "/dev/null", "-w", "%{size_download} %{time_total}",
			fmt.Sprintf("http://127.0.0.2:%d/big", port)).Output()
		var size, secs float64
		if _, serr := fmt.Sscan(string(out), &size, &secs); err != nil || serr != nil || size != egressSize || secs <= 0 {
			return nil, fmt.Errorf("curl on the host: %v %q", err, out)
		}
		directBest = max(directBest, size/secs/1e6)
	}
	var rows []row
	for _, v := range []struct{ name, flags string }{
		{"plain HTTP forwarding", ""},
		{"CONNECT tunnel", "-p "},
	} {
		var best float64
		for range 3 {
			out, err := s.sh(ctx, "curl -sS -o /dev/null -w '%{size_download} %{time_total}' "+v.flags+big)
			if err != nil {
				return nil, err
			}
			var size, secs float64
			if _, err := fmt.Sscan(out.Stdout, &size, &secs); err != nil || size != egressSize || secs <= 0 {
				return nil, fmt.Errorf("curl %s: %q", big, out.Stdout)
			}
			best = max(best, size/secs/1e6)
		}
		rows = append(rows, row{
			metric: "100 MiB download through the proxy (" + v.name + ", loopback server)", samples: "3",
			throughput: fmt.Sprintf("%.0f MB/s", best), budget: "≥ 500 MB/s", met: yesNo(best >= 500),
			note: fmt.Sprintf("best of 3; curl on the host straight to the server: %.0f MB/s", directBest),
		})
	}

	n := b.slowN * 4
	tiny := "/tiny"
	loop := func(target string) string {
		return fmt.Sprintf("for i in $(seq %d); do curl -sS -o /dev/null -w '%%{time_starttransfer}\\n' %s; done", n, target)
	}
	out, err := s.sh(ctx, loop(fmt.Sprintf("http://bench.test:%d%s", port, tiny)))
	if err != nil {
		return nil, err
	}
	proxied, err := parseSeconds(out.Stdout)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "bash", "-c", loop(fmt.Sprintf("--noproxy '*' http://127.0.0.2:%d%s", port, tiny)))
	hostOut, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("curl on the host: %w", err)
	}
	direct, err := parseSeconds(string(hostOut))
	if err != nil {
		return nil, err
	}
	slices.Sort(proxied)
	slices.Sort(direct)
	added := pct(proxied, 0.5) - pct(direct, 0.5)
	r := row{
		metric:  "connection latency added by the proxy (curl time to first byte, proxied − direct)",
		samples: strconv.Itoa(n), p50: fmtDur(added), p99: fmtDur(pct(proxied, 0.99) - pct(direct, 0.99)),
		budget: "p50 ≤ 1ms", met: yesNo(added <= time.Millisecond),
		note: fmt.Sprintf("proxied p50 %s, direct p50 %s", fmtDur(pct(proxied, 0.5)), fmtDur(pct(direct, 0.5))),
	}
	return append(rows, r), nil
}

func parseSeconds(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Fields(s) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return nil, fmt.Errorf("curl timing %q: %w", f, err)
		}
		out = append(out, time.Duration(v*float64(time.Second)))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no curl timings")
	}
	return out, nil
}
