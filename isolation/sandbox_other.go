//go:build !linux

package isolation

import (
	"context"
	"errors"
	"os"
	"syscall"
)

// Sandbox is one running sandbox; only Linux has an implementation.
type Sandbox struct{}

func Start(ctx context.Context, cfg Config) (*Sandbox, error)             { return nil, ErrUnsupported }
func (s *Sandbox) Close() error                                           { return nil }
func (s *Sandbox) Info() Info                                             { return Info{} }
func (s *Sandbox) BaseEnv() []string                                      { return baseEnv("/", nil) }
func (s *Sandbox) Workdir() string                                        { return "" }
func (s *Sandbox) OOMKills() (int64, bool)                                { return 0, false }
func (s *Sandbox) RunDir() string                                         { return "" }
func (s *Sandbox) PrivateDir() string                                     { return "" }
func (s *Sandbox) Spawn(ctx context.Context, spec Spec) (*Process, error) { return nil, ErrUnsupported }
func (s *Sandbox) Signal(pid int, sig syscall.Signal) error               { return ErrUnsupported }
func (s *Sandbox) KillAll(ctx context.Context) error                      { return ErrUnsupported }
func (s *Sandbox) MakeFifo(ctx context.Context, path string) (*os.File, error) {
	return nil, ErrUnsupported
}
func (s *Sandbox) Kill(ctx context.Context, sel Selector, sig syscall.Signal) (int, error) {
	return 0, ErrUnsupported
}
func (s *Sandbox) Do(ctx context.Context, op string, req, resp any, files ...*os.File) error {
	return ErrUnsupported
}
func (s *Sandbox) DoFiles(ctx context.Context, op string, req, resp any, files ...*os.File) ([]*os.File, error) {
	return nil, ErrUnsupported
}
func InitMain(args []string) bool { return false }

// ErrInitDied: see lost_linux.go.
var ErrInitDied = errors.New("the sandbox's init died")

func (s *Sandbox) Gone() <-chan struct{} { return nil }
func (s *Sandbox) Lost() error           { return nil }
