package isolation

// This file is the contract other packages code against. The implementation
// (sandbox_linux.go, init_linux.go, ...) fills in the bodies; signatures here
// only grow, they do not change.

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/rs/zerolog"
)

// Level is the isolation level reached.
type Level string

const (
	LevelFull   Level = "full"   // root: pid+mount+ipc+uts(+cgroup,+net) namespaces
	LevelUserNS Level = "userns" // unprivileged user namespace with the same set inside
	LevelNone   Level = "none"   // no namespaces: rlimits, process groups, subreaper
)

// TagEnv is the environment variable that marks every process of one job
// (a session command, a background process). It is a hint only: where the
// sandbox has job cgroups (Info layer job_cgroups) a job's processes are
// found by membership, which clearing the environment does not change.
const TagEnv = "SBX_JOB"

// Config configures a sandbox.
type Config struct {
	Isolation   string // auto | strict | off
	Network     string // allow | none | host ("" = allow); see network.go
	Workdir     string // same path inside and outside
	Env         []string
	Pids        int
	MemoryBytes int64
	CPUs        float64
	Log         zerolog.Logger

	// Proxy serves the sandbox's egress in network mode allow: it is called
	// (on its own goroutine, once per sandbox start) with the listeners
	// whose connections sandbox programs open to ProxyHTTPAddr and
	// ProxySOCKSAddr. Without it, mode allow has no way out (like none).
	Proxy func(http, socks net.Listener)
	// The sandbox's root (namespace levels; level none is always the host's).
	Root   string   // overlay (default) | readonly | host
	Rootfs string   // lower layer instead of the host's / (a directory of the host)
	State  string   // overlay upper layer on disk, kept across restarts ("" = tmpfs)
	RW     []string // more host paths bound read-write at the same path
	RO     []string // more host paths bound read-only at the same path
	Hide   []string // more paths hidden (an empty directory or an empty file)
}

// Filesystem is what sandbox_info reports about the sandbox's root.
type Filesystem struct {
	Root     string   `json:"root"`   // overlay, readonly or host
	Rootfs   string   `json:"rootfs"` // the lower layer: "/" or --rootfs
	State    *string  `json:"state"`  // the upper layer on disk, null for tmpfs
	Hidden   []string `json:"hidden"`
	Readonly []string `json:"readonly"`
	Writable []string `json:"writable"`
}

// Info is what sandbox_info reports about isolation.
type Info struct {
	Level   Level           `json:"level"`
	Layers  map[string]bool `json:"layers"` // pid_ns mount_ns ipc_ns uts_ns net_ns user_ns cgroup_ns cgroup_confined job_cgroups fresh_proc caps_dropped seccomp no_new_privs cgroup_limits proc_masked sys_readonly dev_minimal
	Reasons []string        `json:"reasons"`
	Limits  Limits          `json:"limits"`
	Workdir string          `json:"workdir"`
	Kernel  string          `json:"kernel"`
	Root    bool            `json:"root"`
	// PTY is where start_process {tty: true} gets terminals: PTYSandbox,
	// PTYHost or PTYUnavailable.
	PTY string `json:"pty" jsonschema:"enum=sandbox,enum=host,enum=unavailable" jsonschema_description:"where tty processes get their terminal: sandbox (a devpts instance of its own), host (the host's /dev/ptmx: other host terminals are visible), unavailable"`
	// Filesystem is the root the sandbox got.
	Filesystem Filesystem `json:"filesystem"`
}

// Limits are the resource limits applied to the sandbox (0 = none).
type Limits struct {
	Pids        int     `json:"pids"`
	MemoryBytes int64   `json:"memory_bytes"`
	CPUs        float64 `json:"cpus"`
}

// Spec describes a process to start inside the sandbox.
type Spec struct {
	Path string   // resolved inside the sandbox via PATH of Env when not absolute
	Args []string // argv, including argv[0]
	Env  []string // complete environment (start from Sandbox.BaseEnv)
	Dir  string   // working directory inside the sandbox ("" = workdir)
	// Files become the child's fds 0..len-1 (at least 3); a nil entry is
	// /dev/null. The caller keeps ownership of its copies.
	Files []*os.File
	// Tag, when set, is exported as TagEnv=Tag in the child's environment.
	Tag string
	// TTY: Files[0] is a terminal slave (Sandbox.OpenPTY); it becomes the
	// controlling terminal of the child's session.
	TTY bool
	// NonDumpable starts the child non-dumpable: no other sandbox process
	// can ptrace it, read or write its memory or open its descriptors
	// through /proc/PID/fd, and its forks inherit that; programs it
	// executes are dumpable again. Path is executed from a copy init made
	// of ShellPath at start (or of Path on first use). Dir is entered
	// without root's DAC capabilities: use "/" and change directory in the
	// child when Dir may need them.
	NonDumpable bool
	// PrivateFd > 0 gives the child the sandbox's private directory
	// (Sandbox.PrivateDir) at this descriptor, where it reaches it as
	// PrivatePathIn(PrivateFd) (not a slot of Files; 3..99). Give it only
	// to NonDumpable children that close it for the programs they run:
	// whoever holds it can open everything in it.
	PrivateFd int
	// Subreaper makes the child a child subreaper (PR_SET_CHILD_SUBREAPER)
	// where the sandbox has no job cgroups: a process its descendants
	// orphan (a double fork) is re-parented to it instead of to init, so
	// it stays a descendant of the job's root while the root lives and a
	// Selector with Root finds it. Give it to roots that reap children they
	// did not start (bash does); under one that does not, an adopted
	// orphan that exits stays a zombie until the root does.
	Subreaper bool
}

// ExitStatus is how a process ended.
type ExitStatus struct {
	Code   int `json:"exit_code"` // -1 when killed by a signal
	Signal int `json:"signal"`    // 0 when it exited normally
}

// Process is a process started by Spawn.
type Process struct {
	Pid  int // as seen inside the sandbox
	done chan struct{}
	exit ExitStatus
}

// Done is closed once the process has been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exit is valid after Done is closed.
func (p *Process) Exit() ExitStatus { <-p.done; return p.exit }

// Selector picks processes inside the sandbox for Kill. A process matches
// when it carries TagEnv=Tag or TagEnv=Tag/... (tags are hierarchical:
// "S1" matches "S1" and "S1/7"; Tag != ""), or is a descendant of Root
// (Root > 0; when Since is set, only descendants whose start time is at or
// after Since), or is Root itself and IncludeRoot is set. With job cgroups
// a process also matches when it is in Tag's job cgroup or one below it,
// or, when Tag has no cgroup but an ancestor tag has, in the ancestor's and
// started at or after Since (Root itself only with IncludeRoot). Init never
// matches.
type Selector struct {
	Tag         string
	Root        int
	IncludeRoot bool
	Since       time.Time
}

// OpError is a typed failure of an operation performed inside the sandbox.
// It crosses the control socket intact; errors.Is matches it against the
// fs error of its Kind (fs.ErrNotExist, fs.ErrPermission, ...) and against
// Errno when the op set one. Msg says what happened, not what to do: the
// advice for a model is the tools' business.
type OpError struct {
	Op    string        `json:"op"`
	Path  string        `json:"path,omitempty"`
	Kind  string        `json:"kind"` // one of the Kind* constants
	Msg   string        `json:"msg"`
	Errno syscall.Errno `json:"errno,omitempty"` // the errno behind it, when there is one
}

// Kinds of OpError.
const (
	KindNotFound     = "not_found"
	KindPermission   = "permission_denied"
	KindIsDirectory  = "is_directory"
	KindNotDirectory = "not_directory"
	KindExists       = "exists"
	KindTooLarge     = "too_large"
	KindNotRegular   = "not_regular"
	KindInvalid      = "invalid"
	KindIO           = "io"
)

// ErrNotRegular is what an OpError of KindNotRegular unwraps to.
var ErrNotRegular = errors.New("not a regular file")

// kindErrs are the errors each Kind unwraps to.
var kindErrs = map[string]error{
	KindNotFound:     fs.ErrNotExist,
	KindPermission:   fs.ErrPermission,
	KindExists:       fs.ErrExist,
	KindInvalid:      fs.ErrInvalid,
	KindIsDirectory:  syscall.EISDIR,
	KindNotDirectory: syscall.ENOTDIR,
	KindTooLarge:     syscall.EFBIG,
	KindNotRegular:   ErrNotRegular,
}

// Unwrap gives the error of e's Kind and its Errno.
func (e *OpError) Unwrap() []error {
	var out []error
	if k := kindErrs[e.Kind]; k != nil {
		out = append(out, k)
	}
	if e.Errno != 0 {
		out = append(out, e.Errno)
	}
	return out
}

func (e *OpError) Error() string {
	if e.Path != "" {
		return e.Op + " " + e.Path + ": " + e.Msg
	}
	return e.Op + ": " + e.Msg
}

// Errors.
var (
	ErrClosed      = errors.New("sandbox is closed")
	ErrUnsupported = errors.New("not supported on this platform")
)

// FileResult is an op's result that hands open descriptors back to the
// server with Value: they arrive as the files DoFiles returns, and init
// closes its copies once they are sent.
type FileResult struct {
	Value any
	Fds   []int
}

// Op is a named operation that runs inside the sandbox's init (its mount
// namespace and credentials). Register ops in init() with RegisterOp.
type Op func(ctx context.Context, req json.RawMessage, files []*os.File) (any, error)

var _ = syscall.SIGKILL
