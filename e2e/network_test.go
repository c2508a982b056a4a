package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/sbx-mcp/sbx-mcp/egress"
)

// hostServer is a plain HTTP server on the host at addr (e.g.
// "127.0.0.2:0") that answers every request with body and counts them.
type hostServer struct {
	port int
	hits atomic.Int64
}

func startHostServer(t *testing.T, addr, body string) *hostServer {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	hs := &hostServer{port: l.Addr().(*net.TCPAddr).Port}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs.hits.Add(1)
		fmt.Fprint(w, body)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return hs
}

type netInfo struct {
	Network struct {
		Mode         string   `json:"mode"`
		Requested    string   `json:"requested"`
		Allowed      []string `json:"allowed"`
		AllowedCIDRs []string `json:"allowed_cidrs"`
		DeniedRecent []struct {
			Host   string `json:"host"`
			Port   int    `json:"port"`
			Reason string `json:"reason"`
			At     string `json:"at"`
		} `json:"denied_recent"`
	} `json:"network"`
	Reasons []string `json:"reasons"`
}

func sandboxNet(t *testing.T, cs *mcp.ClientSession) netInfo {
	t.Helper()
	var ni netInfo
	Structured(t, CallOK(t, cs, "sandbox_info", nil), &ni)
	return ni
}

// hostExternalAddr is an address of this host that is not loopback.
func hostExternalAddr(t *testing.T) netip.Addr {
	for _, a := range egress.HostAddrs() {
		if a.Is4() && !a.IsLoopback() {
			return a
		}
	}
	t.Skip("no non-loopback IPv4 address on this host")
	return netip.Addr{}
}

// TestNetworkAllow drives mode allow end to end: listed and unlisted names,
// blocked targets, no bypass, and the report in sandbox_info.
func TestNetworkAllow(t *testing.T) {
	requireNetNS(t)
	ok := startHostServer(t, "127.0.0.2:0", "hello from ok")
	bad := startHostServer(t, "127.0.0.3:0", "hello from bad")
	loop := startHostServer(t, "127.0.0.1:0", "host loopback service")
	cs := Connect(t, "--network", "allow",
		"--allow-domain", "ok.test", "--allow-domain", "rebind.test", "--allow-domain", "local.test",
		"--allow-cidr", "127.0.0.2/32",
		"--test-resolve", "ok.test=127.0.0.2,bad.test=127.0.0.3,rebind.test=10.0.0.5,local.test=127.0.0.1")
	okURL := fmt.Sprintf("http://ok.test:%d/", ok.port)
	badURL := fmt.Sprintf("http://bad.test:%d/", bad.port)

	t.Run("allowed", func(t *testing.T) {
		for _, cmd := range []string{
			"curl -sS " + okURL,    // plain HTTP forwarding
			"curl -sS -p " + okURL, // CONNECT tunnel
			"curl -sS --socks5-hostname 127.0.0.1:1080 " + okURL, // SOCKS5
			"curl -sS -x socks5h://127.0.0.1:1080 " + okURL,
			"/usr/bin/python3 -c 'import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(\"" + okURL + "\").read().decode())'",
		} {
			if out := sh(t, cs, cmd); out.ExitCode != 0 || out.Stdout != "hello from ok" {
				t.Errorf("%s: exit %d stdout %q stderr %q", cmd, out.ExitCode, out.Stdout, out.Stderr)
			}
		}
	})
	t.Run("unlisted", func(t *testing.T) {
		out := sh(t, cs, "curl -sS -w '\\n%{http_code}' "+badURL)
		if !strings.HasSuffix(out.Stdout, "\n403") || !strings.Contains(out.Stdout, "not in the allow-list") || !strings.Contains(out.Stdout, "bad.test") {
			t.Errorf("unlisted name: %+v", out)
		}
		out = sh(t, cs, "curl -sS -p "+badURL)
		if out.ExitCode == 0 || !strings.Contains(out.Stderr, "403") {
			t.Errorf("unlisted name through CONNECT: %+v", out)
		}
		out = sh(t, cs, "curl -sS -x socks5h://127.0.0.1:1080 "+badURL)
		if out.ExitCode == 0 || !strings.Contains(out.Stderr, "(2)") {
			t.Errorf("unlisted name through SOCKS5 (want reply 2): %+v", out)
		}
		if n := bad.hits.Load(); n != 0 {
			t.Errorf("the unlisted server got %d requests", n)
		}
	})
	t.Run("blocked", func(t *testing.T) {
		for _, tc := range []struct{ url, want string }{
			{"http://169.254.169.254/latest/meta-data/", "cloud metadata"},
			{fmt.Sprintf("http://127.0.0.1:%d/", loop.port), "loopback"},
			{fmt.Sprintf("http://local.test:%d/", loop.port), "dns rebinding"},
			{"http://rebind.test/", "dns rebinding: rebind.test is listed but resolves to 10.0.0.5"},
			{fmt.Sprintf("http://127.0.0.3:%d/", bad.port), "loopback"},
		} {
			// --noproxy '' sends even loopback addresses to the proxy.
			out := sh(t, cs, "curl -sS --noproxy '' -x http://127.0.0.1:3128 -w '\\n%{http_code}' "+tc.url)
			if !strings.HasSuffix(out.Stdout, "\n403") || !strings.Contains(out.Stdout, tc.want) {
				t.Errorf("%s: want 403 naming %q, got %+v", tc.url, tc.want, out)
			}
		}
		if n := loop.hits.Load() + bad.hits.Load(); n != 0 {
			t.Errorf("blocked servers got %d requests", n)
		}
	})
	t.Run("no bypass", func(t *testing.T) {
		ext := hostExternalAddr(t)
		l, err := net.Listen("tcp", net.JoinHostPort(ext.String(), "0"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		var accepted atomic.Int64
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				accepted.Add(1)
				c.Close()
			}
		}()
		port := l.Addr().(*net.TCPAddr).Port
		out := sh(t, cs, fmt.Sprintf("timeout 10 bash -c 'echo > /dev/tcp/%s/%d'", ext, port))
		if out.ExitCode == 0 || !strings.Contains(out.Stderr, "unreachable") {
			t.Errorf("raw connect to %s:%d: %+v", ext, port, out)
		}
		// Without the proxy variables: the same refusal, another message.
		noProxy := "env -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY "
		out = sh(t, cs, noProxy+"curl -sS --max-time 10 "+okURL)
		if out.ExitCode == 0 || !strings.Contains(out.Stderr, "resolve") {
			t.Errorf("curl without proxy variables, by name: %+v", out)
		}
		out = sh(t, cs, noProxy+fmt.Sprintf("curl -sS --max-time 10 http://127.0.0.2:%d/", ok.port))
		if out.ExitCode == 0 || out.Stdout != "" {
			t.Errorf("curl without proxy variables, by address: %+v", out)
		}
		out = sh(t, cs, noProxy+fmt.Sprintf("curl -sS --max-time 10 http://%s:%d/", ext, port))
		if out.ExitCode == 0 {
			t.Errorf("curl without proxy variables to the host's address: %+v", out)
		}
		if accepted.Load() != 0 {
			t.Errorf("the host listener accepted %d connections from the sandbox", accepted.Load())
		}
	})
	t.Run("sandbox_info", func(t *testing.T) {
		ni := sandboxNet(t, cs)
		n := ni.Network
		if n.Mode != "allow" || n.Requested != "" || strings.Join(n.Allowed, ",") != "ok.test,rebind.test,local.test" ||
			strings.Join(n.AllowedCIDRs, ",") != "127.0.0.2/32" {
			t.Fatalf("network = %+v", n)
		}
		found := map[string]bool{}
		for _, d := range n.DeniedRecent {
			if d.At == "" || d.Reason == "" {
				t.Errorf("denial without time or reason: %+v", d)
			}
			found[fmt.Sprintf("%s:%d", d.Host, d.Port)] = true
		}
		for _, want := range []string{fmt.Sprintf("bad.test:%d", bad.port), "169.254.169.254:80", "rebind.test:80"} {
			if !found[want] {
				t.Errorf("denied_recent lacks %s: %+v", want, n.DeniedRecent)
			}
		}
	})
	t.Run("environment", func(t *testing.T) {
		out := sh(t, cs, `echo "$HTTP_PROXY $https_proxy $ALL_PROXY $no_proxy"; grep -v '^#' /etc/resolv.conf`)
		want := "http://127.0.0.1:3128 http://127.0.0.1:3128 socks5h://127.0.0.1:1080 localhost,127.0.0.1,::1\nnameserver 127.0.0.1\n"
		if !strings.HasPrefix(out.Stdout, want) {
			t.Errorf("environment and resolv.conf:\n%s\nwant prefix\n%s", out.Stdout, want)
		}
	})
}

// TestNetworkHostAndFallback: host is reported unfiltered; allow without
// namespaces degrades to host with a reason.
func TestNetworkHostAndFallback(t *testing.T) {
	cs := Connect(t, "--network", "host")
	if n := sandboxNet(t, cs).Network; n.Mode != "host" || n.Requested != "" {
		t.Errorf("--network host: %+v", n)
	}
	cs = Connect(t, "--network", "allow", "--isolation", "off")
	ni := sandboxNet(t, cs)
	if ni.Network.Mode != "host" || ni.Network.Requested != "allow" || !strings.Contains(strings.Join(ni.Reasons, "\n"), "net_ns: --network allow needs a network namespace") {
		t.Errorf("--network allow --isolation off: %+v", ni)
	}
	if out := sh(t, cs, `echo "${HTTP_PROXY-unset}"`); out.Stdout != "unset\n" {
		t.Errorf("proxy variables without the proxy: %q", out.Stdout)
	}
}

// requireNetNS skips when the sandbox cannot get a network namespace here.
func requireNetNS(t *testing.T) {
	t.Helper()
	cs := Connect(t, "--network", "none")
	var info struct {
		Layers map[string]bool `json:"layers"`
	}
	Structured(t, CallOK(t, cs, "sandbox_info", nil), &info)
	if !info.Layers["net_ns"] {
		if os.Getenv("SBX_REQUIRE_ISOLATION") == "1" {
			t.Fatal("no network namespace, and SBX_REQUIRE_ISOLATION=1")
		}
		t.Skip("no network namespace on this host")
	}
}

// TestNetworkPackageManagers: pip and npm find the proxy through the
// environment alone. The registry stub's name resolves only in the proxy,
// so a request reaching it came through the proxy.
func TestNetworkPackageManagers(t *testing.T) {
	requireNetNS(t)
	var mu sync.Mutex
	var paths []string
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/simple/") {
			fmt.Fprint(w, "<!DOCTYPE html><html><body></body></html>") // a PEP 503 page with no files
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":"not found"}`)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	reg := fmt.Sprintf("http://registry.test:%d", l.Addr().(*net.TCPAddr).Port)
	cs := Connect(t, "--allow-domain", "registry.test", "--allow-cidr", "127.0.0.2/32", "--test-resolve", "registry.test=127.0.0.2")

	out := sh(t, cs, "/usr/bin/python3 -m pip download --no-deps --retries 0 --timeout 20 --no-cache-dir -d \"$(mktemp -d)\" --trusted-host registry.test --index-url "+reg+"/simple/ sbx-probe-pkg")
	if out.ExitCode == 0 || !strings.Contains(out.Stderr, "No matching distribution") {
		t.Errorf("pip against the stub: %+v", out)
	}
	out = sh(t, cs, "npm view sbx-probe-pkg --registry "+reg+"/ --fetch-retries 0 2>&1; true")
	if !strings.Contains(out.Stdout, "404") {
		t.Errorf("npm against the stub: %+v", out)
	}
	mu.Lock()
	defer mu.Unlock()
	got := strings.Join(paths, " ")
	for _, want := range []string{"/simple/sbx-probe-pkg/", "/sbx-probe-pkg"} {
		found := false
		for _, p := range paths {
			found = found || p == want
		}
		if !found {
			t.Errorf("the registry stub never saw %s (saw: %s)", want, got)
		}
	}
}

// TestNetworkAfterRestart: a sandbox that replaces a dead one gets the
// proxy again (new listeners inside, the same policy and denial list).
func TestNetworkAfterRestart(t *testing.T) {
	ok := startHostServer(t, "127.0.0.2:0", "hello again")
	cs := Connect(t, "--allow-domain", "ok.test", "--allow-cidr", "127.0.0.2/32", "--test-resolve", "ok.test=127.0.0.2")
	if n := sandboxNet(t, cs).Network; n.Mode != "allow" {
		if os.Getenv("SBX_REQUIRE_ISOLATION") == "1" {
			t.Fatalf("mode %q, and SBX_REQUIRE_ISOLATION=1", n.Mode)
		}
		t.Skip("no network namespace on this host")
	}
	url := fmt.Sprintf("http://ok.test:%d/", ok.port)
	if out := sh(t, cs, "curl -sS "+url+"; curl -sS -o /dev/null http://bad.test/"); out.Stdout != "hello again" {
		t.Fatalf("before the restart: %+v", out)
	}
	if err := syscall.Kill(serverInit(t), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var info struct {
		Restarts int `json:"restarts"`
	}
	for info.Restarts != 1 {
		Structured(t, CallOK(t, cs, "sandbox_info", nil), &info)
	}
	if out := sh(t, cs, "curl -sS "+url); out.Stdout != "hello again" {
		t.Fatalf("after the restart: %+v", out)
	}
	if n := sandboxNet(t, cs).Network; n.Mode != "allow" || len(n.DeniedRecent) != 1 || n.DeniedRecent[0].Host != "bad.test" {
		t.Errorf("network after the restart: %+v", n)
	}
}
