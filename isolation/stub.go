package isolation

// TEMPORARY: signatures of the Sandbox API with placeholder bodies, so other
// packages compile while the runtime is written. Replaced by the real
// implementation (delete this file then).

import (
	"context"
	"os"
	"syscall"
)

// Sandbox is one running sandbox (one init process).
type Sandbox struct{}

// Start creates the sandbox at the best level allowed by cfg and the host.
func Start(ctx context.Context, cfg Config) (*Sandbox, error) { return nil, ErrUnsupported }

// Close kills every process in the sandbox, then init; safe to call twice.
func (s *Sandbox) Close() error { return nil }

// Info reports the isolation reached.
func (s *Sandbox) Info() Info { return Info{} }

// BaseEnv is the allow-listed environment for new processes: PATH, HOME,
// LANG, the non-interactive variables of DESIGN §3, then Config.Env.
func (s *Sandbox) BaseEnv() []string { return nil }

// Workdir is the default working directory (same path inside and outside).
func (s *Sandbox) Workdir() string { return "" }

// RunDir is a private directory inside the sandbox for sbx-mcp's own files
// (fifos, large scripts); created by init with mode 0700.
func (s *Sandbox) RunDir() string { return "" }

// Spawn starts a process inside the sandbox in its own session (setsid).
func (s *Sandbox) Spawn(ctx context.Context, spec Spec) (*Process, error) { return nil, ErrUnsupported }

// Signal sends sig to one sandbox process (pid as seen inside).
func (s *Sandbox) Signal(pid int, sig syscall.Signal) error { return ErrUnsupported }

// Kill sends sig to every process sel matches and returns how many it signalled.
func (s *Sandbox) Kill(ctx context.Context, sel Selector, sig syscall.Signal) (int, error) {
	return 0, ErrUnsupported
}

// KillAll SIGKILLs every process in the sandbox except init.
func (s *Sandbox) KillAll(ctx context.Context) error { return ErrUnsupported }

// MakeFifo creates a FIFO at path inside the sandbox (mode 0600, replacing
// nothing: path must not exist) and returns its read end, opened
// O_RDONLY|O_NONBLOCK|O_CLOEXEC, for the server to read.
func (s *Sandbox) MakeFifo(ctx context.Context, path string) (*os.File, error) {
	return nil, ErrUnsupported
}

// Do runs the registered op inside the sandbox: req is JSON-encoded, the
// op's result is JSON-decoded into resp (may be nil), files are passed to the
// op as open fds (e.g. a pipe to stream bulk data through). An op's
// *OpError comes back as *OpError.
func (s *Sandbox) Do(ctx context.Context, op string, req, resp any, files ...*os.File) error {
	return ErrUnsupported
}

// RegisterOp registers an op run inside the sandbox's init. It panics on a
// duplicate name. Call it from init().
func RegisterOp(name string, fn Op) {}

// InitMain runs the sandbox init when args say this process is the re-exec'd
// init (a hidden subcommand) and then never returns; otherwise it returns
// false at once. main calls it first thing.
func InitMain(args []string) bool { return false }
