package interp

import (
	"context"
	"os"
	"os/exec"
	"syscall"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

// localSpawn runs the driver as a local subprocess in its own session.
func localSpawn(ctx context.Context, spec isolation.Spec) (proc, error) {
	cmd := exec.Command(spec.Path, spec.Args[1:]...)
	cmd.Args = spec.Args
	cmd.Env = spec.Env
	if spec.Tag != "" {
		cmd.Env = append(cmd.Env, isolation.TagEnv+"="+spec.Tag)
	}
	cmd.Dir = spec.Dir
	file := func(i int) *os.File {
		if i < len(spec.Files) {
			return spec.Files[i]
		}
		return nil
	}
	if f := file(0); f != nil {
		cmd.Stdin = f
	}
	if f := file(1); f != nil {
		cmd.Stdout = f
	}
	if f := file(2); f != nil {
		cmd.Stderr = f
	}
	if len(spec.Files) > 3 {
		cmd.ExtraFiles = spec.Files[3:]
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &localProc{cmd: cmd, done: make(chan struct{})}
	go func() { // owns cmd.Wait; closes done
		cmd.Wait()
		st := cmd.ProcessState
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			p.exit = isolation.ExitStatus{Code: -1, Signal: int(ws.Signal())}
		} else {
			p.exit = isolation.ExitStatus{Code: st.ExitCode()}
		}
		close(p.done)
	}()
	return p, nil
}

type localProc struct {
	cmd  *exec.Cmd
	done chan struct{}
	exit isolation.ExitStatus
}

func (p *localProc) Done() <-chan struct{}      { return p.done }
func (p *localProc) Exit() isolation.ExitStatus { <-p.done; return p.exit }
func (p *localProc) Interrupt() error           { return p.cmd.Process.Signal(syscall.SIGINT) }
func (p *localProc) Lost() error                { return nil }
func (p *localProc) Kill()                      { syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }
