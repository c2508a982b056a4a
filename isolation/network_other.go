//go:build !linux

package isolation

import (
	"context"
	"net"
)

func (s *Sandbox) ListenInside(ctx context.Context, addrs ...string) ([]net.Listener, error) {
	return nil, ErrUnsupported
}
func (s *Sandbox) DialInside(ctx context.Context, port int) (net.Conn, error) {
	return nil, ErrUnsupported
}
func (s *Sandbox) ListeningPorts(ctx context.Context, pids []int) (map[int][]ListeningPort, error) {
	return nil, ErrUnsupported
}
func (s *Sandbox) NetworkMode() string { return NetworkHost }
