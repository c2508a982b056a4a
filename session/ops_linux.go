package session

// Ops run inside the sandbox's init (see isolation.RegisterOp): the
// per-shell run directory that holds its FIFOs.

import (
	"context"
	"encoding/json"
	"os"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

const (
	opMkdir     = "session_mkdir"
	opRemoveAll = "session_remove_all"
)

type mkdirReq struct {
	Path string `json:"path"`
}

type removeReq struct {
	Path string `json:"path"`
}

func init() {
	isolation.RegisterOp(opMkdir, func(_ context.Context, raw json.RawMessage, _ []*os.File) (any, error) {
		var r mkdirReq
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		return nil, os.MkdirAll(r.Path, 0o700)
	})
	isolation.RegisterOp(opRemoveAll, func(_ context.Context, raw json.RawMessage, _ []*os.File) (any, error) {
		var r removeReq
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, err
		}
		return nil, os.RemoveAll(r.Path)
	})
}
