package isolation

import (
	"fmt"
	"sync"
)

// opsMu guards ops. Ops are registered from init() functions, so the
// registry is complete before InitMain or Start runs.
var (
	opsMu sync.RWMutex
	ops   = map[string]Op{}
)

// RegisterOp registers an op run inside the sandbox's init. It panics on a
// duplicate name or a nil fn. Call it from init(): the re-exec'd init is the
// same binary, so it finds every op registered that way.
func RegisterOp(name string, fn Op) {
	if name == "" || fn == nil {
		panic("isolation: RegisterOp with empty name or nil fn")
	}
	opsMu.Lock()
	defer opsMu.Unlock()
	if _, dup := ops[name]; dup {
		panic(fmt.Sprintf("isolation: op %q registered twice", name))
	}
	ops[name] = fn
}

func lookupOp(name string) Op {
	opsMu.RLock()
	defer opsMu.RUnlock()
	return ops[name]
}
