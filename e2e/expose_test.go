package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

type exposure struct {
	Port     int    `json:"port"`
	HostPort int    `json:"host_port"`
	URL      string `json:"url"`
	Note     string `json:"note"`
}

// TestExposePort: a server inside the sandbox's network namespace, reached
// from the host through expose_port.
func TestExposePort(t *testing.T) {
	requireNetNS(t)
	cs := Connect(t) // the default mode: allow
	dir := t.TempDir()
	sh(t, cs, "mkdir -p "+dir+"/site && echo hello-listing > "+dir+"/site/marker.txt")
	p := startProc(t, cs, map[string]any{"command": "cd " + dir + "/site && exec /usr/bin/python3 -m http.server 8000 --bind 127.0.0.1"})
	CallOK(t, cs, "wait_for_process", map[string]any{"id": p.ID, "port": 8000, "timeout_ms": 20000})

	// The listening port shows in list_processes and get_process.
	var lp struct {
		Processes []struct {
			ID             string `json:"id"`
			ListeningPorts []struct {
				Port int    `json:"port"`
				Addr string `json:"addr"`
			} `json:"listening_ports"`
		} `json:"processes"`
	}
	res := CallOK(t, cs, "list_processes", nil)
	Structured(t, res, &lp)
	if len(lp.Processes) != 1 || len(lp.Processes[0].ListeningPorts) != 1 || lp.Processes[0].ListeningPorts[0].Port != 8000 ||
		lp.Processes[0].ListeningPorts[0].Addr != "127.0.0.1" || !strings.Contains(Text(res), "listening: 127.0.0.1:8000") {
		t.Errorf("list_processes: %+v\n%s", lp, Text(res))
	}
	if res := CallOK(t, cs, "get_process", map[string]any{"id": p.ID}); !strings.Contains(Text(res), "127.0.0.1:8000") {
		t.Errorf("get_process: %s", Text(res))
	}

	var e exposure
	Structured(t, CallOK(t, cs, "expose_port", map[string]any{"port": 8000}), &e)
	if e.Port != 8000 || e.HostPort == 0 || e.URL != fmt.Sprintf("http://127.0.0.1:%d", e.HostPort) {
		t.Fatalf("expose_port: %+v", e)
	}
	get := func() (string, error) {
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get(e.URL + "/")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return string(b), err
	}
	if body, err := get(); err != nil || !strings.Contains(body, "marker.txt") {
		t.Fatalf("GET %s: %v %q", e.URL, err, body)
	}

	// 50 concurrent connections, each a complete request.
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, err := get()
			if err == nil && !strings.Contains(body, "marker.txt") {
				err = fmt.Errorf("body %q", body)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent GET: %v", err)
	}

	// Exposing again is idempotent; the list shows it.
	var again exposure
	Structured(t, CallOK(t, cs, "expose_port", map[string]any{"port": 8000}), &again)
	if again.HostPort != e.HostPort {
		t.Errorf("expose again: %+v, first %+v", again, e)
	}
	var list struct {
		Ports []struct {
			Port        int   `json:"port"`
			HostPort    int   `json:"host_port"`
			Connections int64 `json:"connections"`
		} `json:"ports"`
	}
	Structured(t, CallOK(t, cs, "list_exposed_ports", nil), &list)
	if len(list.Ports) != 1 || list.Ports[0].HostPort != e.HostPort || list.Ports[0].Connections < 51 {
		t.Errorf("list_exposed_ports: %+v", list)
	}

	// A port nothing listens on: the connection is closed, no response.
	var dead exposure
	Structured(t, CallOK(t, cs, "expose_port", map[string]any{"port": 8999}), &dead)
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", dead.HostPort)); err == nil {
		c.SetDeadline(time.Now().Add(30 * time.Second))
		n, rerr := c.Read(make([]byte, 1))
		c.Close()
		if n != 0 || rerr == nil {
			t.Errorf("dead port: read %d, %v", n, rerr)
		}
	}

	// unexpose closes the listener.
	CallOK(t, cs, "unexpose_port", map[string]any{"port": 8000})
	if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", e.HostPort)); err == nil {
		c.Close()
		t.Errorf("host port %d still accepts after unexpose_port", e.HostPort)
	}
	if res := Call(t, cs, "unexpose_port", map[string]any{"port": 8000}); !res.IsError || !strings.Contains(Text(res), "not exposed") {
		t.Errorf("unexpose twice: %v %s", res.IsError, Text(res))
	}
}

func TestExposePortHostMode(t *testing.T) {
	cs := Connect(t, "--network", "host")
	var e exposure
	Structured(t, CallOK(t, cs, "expose_port", map[string]any{"port": 8000}), &e)
	if !strings.Contains(e.Note, "nothing to forward") || e.URL != "http://127.0.0.1:8000" {
		t.Errorf("host mode: %+v", e)
	}
}
