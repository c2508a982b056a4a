package egress

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/rs/zerolog"
)

// Benchmarks of the proxy alone, over loopback TCP (no sandbox): the cost
// of a CONNECT tunnel's set-up against a direct dial, and tunnel
// throughput. go test ./egress -run XXX -bench . -benchtime 2000x

// benchUpstream accepts connections on 127.0.0.2 and, per connection,
// writes n bytes (n = 0: echo one byte) then closes.
func benchUpstream(b *testing.B, n int) int {
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	buf := make([]byte, 256<<10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if n == 0 {
					var one [1]byte
					if _, err := c.Read(one[:]); err == nil {
						c.Write(one[:])
					}
					return
				}
				for left := n; left > 0; {
					w, err := c.Write(buf[:min(left, len(buf))])
					if err != nil {
						return
					}
					left -= w
				}
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func benchProxy(b *testing.B) string {
	res, _ := ParseStaticResolver("bench.test=127.0.0.2")
	pol, err := NewPolicy([]string{"bench.test"}, []string{"127.0.0.2/32"}, nil, res)
	if err != nil {
		b.Fatal(err)
	}
	p := New(Options{Policy: pol, Log: zerolog.Nop()})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go p.ServeHTTPProxy(l)
	b.Cleanup(p.Close)
	return l.Addr().String()
}

// connect opens a tunnel to bench.test:port through the proxy at addr.
func connect(addr string, port int) (net.Conn, *bufio.Reader, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(c, "CONNECT bench.test:%d HTTP/1.1\r\nHost: bench.test:%d\r\n\r\n", port, port)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		c.Close()
		return nil, nil, fmt.Errorf("CONNECT: %v %v", resp, err)
	}
	return c, br, nil
}

// roundTrip sends one byte and waits for the echo.
func roundTrip(c net.Conn, r io.Reader) error {
	if _, err := c.Write([]byte{1}); err != nil {
		return err
	}
	var one [1]byte
	_, err := io.ReadFull(r, one[:])
	return err
}

func BenchmarkDirectDialRoundTrip(b *testing.B) {
	port := benchUpstream(b, 0)
	b.ResetTimer()
	for range b.N {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.2:%d", port))
		if err != nil {
			b.Fatal(err)
		}
		if err := roundTrip(c, c); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

func BenchmarkProxyConnectRoundTrip(b *testing.B) {
	port := benchUpstream(b, 0)
	addr := benchProxy(b)
	b.ResetTimer()
	for range b.N {
		c, br, err := connect(addr, port)
		if err != nil {
			b.Fatal(err)
		}
		if err := roundTrip(c, br); err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}

func BenchmarkProxyTunnelThroughput(b *testing.B) {
	const size = 100 << 20
	port := benchUpstream(b, size)
	addr := benchProxy(b)
	buf := make([]byte, 256<<10)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		c, br, err := connect(addr, port)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{br}, buf)
		c.Close()
		if err != nil || n != size {
			b.Fatalf("read %d, %v", n, err)
		}
	}
}

func BenchmarkDirectThroughput(b *testing.B) {
	const size = 100 << 20
	port := benchUpstream(b, size)
	buf := make([]byte, 256<<10)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.2:%d", port))
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{c}, buf)
		c.Close()
		if err != nil || n != size {
			b.Fatalf("read %d, %v", n, err)
		}
	}
}
