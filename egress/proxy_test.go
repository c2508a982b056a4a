package egress

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"golang.org/x/net/proxy"
)

// testProxy serves a Proxy on two loopback listeners and an upstream HTTP
// server at 127.0.0.2 reachable as ok.test.
func testProxy(t *testing.T) (p *Proxy, httpAddr, socksAddr string, upPort int) {
	t.Helper()
	up, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream saw %s %s", r.Method, r.URL.Path)
	})}
	go srv.Serve(up)
	t.Cleanup(func() { srv.Close() })
	res, _ := ParseStaticResolver("ok.test=127.0.0.2,bad.test=127.0.0.3")
	pol, err := NewPolicy([]string{"ok.test"}, []string{"127.0.0.2/32"}, nil, res)
	if err != nil {
		t.Fatal(err)
	}
	p = New(Options{Policy: pol, Log: zerolog.Nop()})
	hl, _ := net.Listen("tcp", "127.0.0.1:0")
	sl, _ := net.Listen("tcp", "127.0.0.1:0")
	go p.ServeHTTPProxy(hl)
	go p.ServeSOCKS(sl)
	t.Cleanup(p.Close)
	return p, hl.Addr().String(), sl.Addr().String(), up.Addr().(*net.TCPAddr).Port
}

func TestProxyHTTP(t *testing.T) {
	p, httpAddr, _, upPort := testProxy(t)
	pu, _ := url.Parse("http://" + httpAddr)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(pu)}}
	get := func(u string) (int, string) {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get(fmt.Sprintf("http://ok.test:%d/x", upPort)); code != 200 || body != "upstream saw GET /x" {
		t.Errorf("allowed: %d %q", code, body)
	}
	if code, body := get(fmt.Sprintf("http://bad.test:%d/x", upPort)); code != 403 || !strings.Contains(body, "not in the allow-list") {
		t.Errorf("unlisted: %d %q", code, body)
	}
	// CONNECT, by hand.
	c, err := net.Dial("tcp", httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "CONNECT ok.test:%d HTTP/1.1\r\nHost: ok.test:%d\r\n\r\nGET /tunnel HTTP/1.1\r\nHost: ok.test\r\nConnection: close\r\n\r\n", upPort, upPort)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "upstream saw GET /tunnel" {
		t.Errorf("through the tunnel (request sent before the 200): %q", b)
	}
	if d := p.Denied(); len(d) != 1 || d[0].Host != "bad.test" || d[0].Port != upPort || d[0].At.IsZero() {
		t.Errorf("Denied() = %+v", d)
	}
}

func TestProxySOCKS5(t *testing.T) {
	p, _, socksAddr, upPort := testProxy(t)
	d, err := proxy.SOCKS5("tcp", socksAddr, nil, proxy.Direct)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: d.(proxy.ContextDialer).DialContext}}
	resp, err := client.Get(fmt.Sprintf("http://ok.test:%d/s", upPort))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "upstream saw GET /s" {
		t.Errorf("through SOCKS5: %q", b)
	}
	for _, target := range []string{fmt.Sprintf("bad.test:%d", upPort), "169.254.169.254:80", "127.0.0.1:22"} {
		_, err := d.Dial("tcp", target)
		if err == nil || !strings.Contains(err.Error(), "connection not allowed by ruleset") {
			t.Errorf("SOCKS5 %s: %v; want reply 2 (not allowed by ruleset)", target, err)
		}
	}
	if n := len(p.Denied()); n != 3 {
		t.Errorf("%d denials recorded, want 3", n)
	}
}

func TestDeniedBounded(t *testing.T) {
	p := New(Options{Policy: &Policy{resolver: StaticResolver{}}, Log: zerolog.Nop()})
	for i := range 3 * keptDenials {
		p.refused(&Denial{Host: fmt.Sprintf("h%d.test", i), Port: 1, Reason: "r"})
	}
	d := p.Denied()
	if len(d) != keptDenials || d[len(d)-1].Host != fmt.Sprintf("h%d.test", 3*keptDenials-1) {
		t.Errorf("kept %d, last %+v", len(d), d[len(d)-1])
	}
}

// FuzzSOCKSHandshake: any bytes give a request, a reply code or an error,
// never a panic, and a parsed CONNECT round-trips.
func FuzzSOCKSHandshake(f *testing.F) {
	f.Add([]byte{5, 1, 0, 5, 1, 0, 1, 127, 0, 0, 1, 0, 80})
	f.Add([]byte{5, 1, 0, 5, 1, 0, 3, 7, 'o', 'k', '.', 't', 'e', 's', 't', 1, 187})
	f.Add([]byte{5, 1, 0, 5, 1, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 22})
	f.Add([]byte{5, 2, 1, 2})
	f.Add([]byte{4, 1, 0, 80})
	f.Fuzz(func(t *testing.T, in []byte) {
		var w bytes.Buffer
		req, code, err := readSOCKSHandshake(bufio.NewReader(bytes.NewReader(in)), &w)
		if err != nil {
			return
		}
		if code != socksOK || req.cmd != 1 || req.port < 0 || req.port > 65535 {
			t.Fatalf("accepted %+v code %d", req, code)
		}
		if a, perr := netip.ParseAddr(req.host); perr == nil && a.Is4In6() {
			t.Fatalf("mapped address not unmapped: %s", req.host)
		}
	})
}
