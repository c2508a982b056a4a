package process

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// opDialTCP checks whether something accepts TCP connections on a loopback
// port. It runs inside the sandbox's init, so "loopback" is the sandbox's
// (its network namespace when it has one), never the host's by accident.
const opDialTCP = "process.dial_tcp"

func init() { isolation.RegisterOp(opDialTCP, dialTCP) }

type dialRequest struct {
	Port int `json:"port"`
}

type dialResponse struct {
	Open bool   `json:"open"`
	Addr string `json:"addr,omitempty"`
}

func dialTCP(ctx context.Context, raw json.RawMessage, _ []*os.File) (any, error) {
	var req dialRequest
	if err := json.Unmarshal(raw, &req); err != nil || req.Port < 1 || req.Port > 65535 {
		return nil, &isolation.OpError{Op: opDialTCP, Kind: "invalid", Msg: "port must be 1-65535"}
	}
	d := net.Dialer{Timeout: 250 * time.Millisecond}
	for _, host := range []string{"127.0.0.1", "::1"} {
		addr := net.JoinHostPort(host, strconv.Itoa(req.Port))
		if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
			c.Close()
			return dialResponse{Open: true, Addr: addr}, nil
		}
	}
	return dialResponse{}, nil
}

// portOpen asks the sandbox whether port accepts connections on loopback.
func (m *Manager) portOpen(ctx context.Context, port int) (bool, error) {
	var resp dialResponse
	if err := m.sandbox().Do(ctx, opDialTCP, dialRequest{Port: port}, &resp); err != nil {
		return false, err
	}
	return resp.Open, nil
}
