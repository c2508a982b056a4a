package session

// A shell is one bash process inside the sandbox and the plumbing around it.
//
// Framing (server → bash, on a pipe that bash runs as its script file,
// /dev/fd/3, kept at fd 255; bash's stdin is /dev/null). bash parses what it
// reads there one byte per read syscall (so it never over-reads from a
// pipe), which makes every byte of a command line cost. A command is
// therefore one short word, an alias that expands to the real line, followed
// by a fixed-size block and raw records that __sbx_q reads with `read -N`
// (byte counted: ASCII records are bytes in any locale, the others are read
// under LC_ALL=C; so any NUL-free text works: heredocs, unbalanced quotes,
// marker look-alikes, 10 MiB scripts):
//
//	\n@\n0<SEQ: 10 digits><CLEN: 5 columns><the command, padded to inlineMax>
//	\n@\n1<SEQ: 10 digits><"CLEN PLEN ILEN BYTEWISE", padded to the block's end>
//	       <CLEN bytes of command><PLEN bytes of prelude><ILEN bytes of stdin>
//
// The first form, for a short ASCII command without prelude or stdin,
// needs one read -N (each read builtin is five syscalls) and no parsing
// beyond two substrings. @ expands to
//
//	__sbx_q;builtin eval -- "$__sbx_f" >"$__sbx_o" 2>"$__sbx_e";__sbx_post $?
//
// where $__sbx_f is the command itself in the first form and otherwise one
// of four frames (readonly __sbx_F0..3), e.g. with a prelude
//
//	(builtin eval -- "$__sbx_p" && builtin eval -- "$__sbx_c")
//
// A prelude (per-call cwd/env) runs with the command in a subshell, so the
// overrides apply to that command only; a stdin record is fed instead of
// the shell's /dev/null. Both evals run at top level (not in a function),
// so `declare`, `return` and `local` behave as typed at a prompt.
// __sbx_q also exports SBX_JOB=SESSIONTAG/SEQ, the tag that lets a timeout
// kill exactly this command's processes. After every command __sbx_post
// writes the status record and checks expand_aliases and the alias and
// restores them if a user's `unalias -a`, `shopt -u expand_aliases` or own
// alias changed them, so the next command cannot break.
//
// OUT and ERR ($__sbx_o, $__sbx_e) are FIFOs that bash opens for each
// command and closes after it; the server holds their read ends. They are
// in the sandbox's private directory (isolation.Sandbox.PrivateDir), which
// in the namespace levels is in no mount tree: bash holds a descriptor of
// it at fd 253 (privateFd) and opens them as /proc/self/fd/253/TAG/out.N,
// which only bash and its (non-dumpable) subshells can resolve. No other
// sandbox process, in this session or another, can open them by a path.
// Status (bash → server) goes over its own channel, a socket bash inherits
// (see status_linux.go): "SEQ CODE\0PWD\0" written by __sbx_post after the
// command, accepted only from bash's own pid and only for the command in
// flight. bash holds both descriptors close-on-exec (cloexecSetup), so no
// program a command runs inherits them.
//
// bash is started non-dumpable (isolation.Spec.NonDumpable, from a sealed
// copy of /bin/bash init made at start): other sandbox processes, all of
// the same uid, cannot ptrace it, write its memory or open its script pipe
// (fd 255) or status socket (fd 254) through /proc/PID/fd. Its subshells
// stay non-dumpable; programs it executes are dumpable again. It starts in
// "/" and cds to the session's directory in the setup script (the spawn
// enters its directory without root's DAC capabilities).
//
// Bounds of what the sandbox writes toward the server here:
//   - status: a record is at most maxStatusRecord (64 KiB) and at most
//     maxStatusReads messages are read per wake-up; anything else is dropped
//     (and logged), so no record is ever buffered beyond that.
//   - output FIFOs: read in 64 KiB pieces into the command's bounded capture
//     (head and tail, outbuf) and, when streamed, into notifications of at
//     most maxChunk; nothing is buffered beyond that. The programs a
//     command runs are ordinary (dumpable) processes holding the FIFOs as
//     fds 1 and 2, so while they run any sandbox process can reopen those
//     through /proc/PID/fd (as it could ptrace them and write anything on
//     their stdout), and a process that kept an O_PATH handle on a FIFO can
//     reopen it later; such a writer can only add bytes to that bounded
//     output (of this session's commands): it cannot end a command or
//     change its exit code or cwd, and a FIFO still held open after the
//     command is retired (at most maxRetired, drained into a fixed buffer).
//
// Completion: once the status record is readable, everything the command
// wrote is already in the output FIFOs; the server drains them. If a drain
// ends in EAGAIN instead of EOF, something the command left running still
// holds the FIFO: the FIFO is retired (drained in the background) and the
// next command gets a fresh one, so late output never leaks into a later
// result. Each command reads through a freshly opened read end, which the
// kernel reports as hung up only after a writer connected since that open.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/rs/zerolog"

	"github.com/sbx-mcp/sbx-mcp/isolation"
	"github.com/sbx-mcp/sbx-mcp/outbuf"
)

const (
	flushBytes   = 16 << 10              // streamed output is sent once this much is pending...
	maxChunk     = 64 << 10              // ...in notifications of at most this size
	flushEvery   = 10 * time.Millisecond // ...or when this long has passed since the last
	killWait     = time.Second           // after killing a command's tree, how long the shell gets to report
	maxRetired   = 8                     // retired FIFOs drained in the background, per shell
	fifoSize     = 1 << 20               // pipe buffer of the output FIFOs
	smallWrite   = 4096                  // a command message this small is written inline (PIPE_BUF)
	quietOutputs = 2 * time.Millisecond  // how long a non-streamed command's output FIFOs go unwatched
)

// setupVar is the environment variable that carries the shell's setup
// script into bash (unset once evaluated).
const setupVar = "__sbx_setup"

// The per-command header block: blockLen bytes that bash reads at once,
// the fields padded to headerLen and then, when it is ASCII and at most
// inlineMax bytes, the command itself (else spaces, and the command
// follows the block).
//
// Layout: a mode byte, then SEQ as seqWidth zero-padded digits (so bash
// takes it as is, without arithmetic), then for mode '0' (no prelude, no
// stdin, an ASCII command of at most inlineMax bytes) the command's length
// in 5 columns and the command padded with spaces; for mode '1'
// "CLEN PLEN ILEN BYTEWISE" padded with spaces, and the records follow the
// block.
const (
	seqWidth  = 10
	headerLen = 1 + seqWidth + 5
	inlineMax = 112
	blockLen  = headerLen + inlineMax
)

// statusFd is where bash keeps its end of the status channel, close-on-exec
// (cloexecSetup), so programs never inherit it.
const statusFd = "254"

// privateFd is where bash keeps its descriptor of the sandbox's private
// directory, which holds its output FIFOs; close-on-exec like statusFd. It
// arrives at privateArrives.
const (
	privateFd      = 253
	privateArrives = 5
)

// alias is the one command alias (see the framing comment). It is as short
// as names go because bash reads each byte of a command line with its own
// read(2), about 3 µs apiece on a VM; "@" is legal in alias names even
// under set -o posix and is no command anyone types.
const alias = "@"

// aliasText is what the alias expands to: __sbx_q reads the block (and
// records) and sets $__sbx_f to the code to evaluate, which for mode '0'
// is the command itself (one eval, at top level) and otherwise one of the
// frames. The alias's eval runs at top level (not in a function), so the
// command's own eval is at top level too.
const aliasText = `__sbx_q;builtin eval -- "$__sbx_f" >"$__sbx_o" 2>"$__sbx_e";__sbx_post $?`

// aliasClosing is aliasText for a bash that did not make its descriptors
// close-on-exec (see cloexecSetup): every command runs with them closed.
const aliasClosing = `__sbx_q;builtin eval -- "$__sbx_f" >"$__sbx_o" 2>"$__sbx_e" 254>&- 253>&- 252>&- 251>&-;__sbx_post $?`

// frames are the code __sbx_q picks for mode '1': the command alone, with
// a prelude (per-call cwd/env, in a subshell with the command), with a
// stdin record (fed by a process substitution that does not hold the
// error FIFO), and both.
var frames = [4]string{
	`builtin eval -- "$__sbx_c"`,
	`(builtin eval -- "$__sbx_p" && builtin eval -- "$__sbx_c")`,
	`builtin eval -- "$__sbx_c" < <(builtin printf %s "$__sbx_i" 2>&-)`,
	`(builtin eval -- "$__sbx_p" && builtin eval -- "$__sbx_c") < <(builtin printf %s "$__sbx_i" 2>&-)`,
}

// aliasSetup defines, for the setup script: readonly variables holding the
// frames (__sbx_F0..3), __sbx_a that (re)defines the alias as $__sbx_A
// (defined by the setup, see cloexecSetup), and __sbx_ok that tells whether
// it is intact, so __sbx_post redefines it only after a user removed or
// changed it. There is one alias with a short text, not one per frame:
// bash rebuilds BASH_ALIASES for every lookup and compares strings as
// patterns, so the check after every command costs a few µs instead of ~20.
var aliasSetup = func() string {
	var vars []string
	for i, f := range frames {
		vars = append(vars, fmt.Sprintf("__sbx_F%d=%s", i, quote(f)))
	}
	return "builtin readonly " + strings.Join(vars, " ") + "\n" +
		"__sbx_a() { builtin shopt -s expand_aliases; builtin alias " + alias + `="$__sbx_A"; }` + "\n" +
		"__sbx_ok() { builtin shopt -q expand_aliases && [[ ${BASH_ALIASES[" + quote(alias) + `]-} == "$__sbx_A" ]]; }` + "\n"
}()

// cloexecSetup gives bash its close-on-exec descriptors of the status
// socket (arriving at fd 4, kept at statusFd) and, when private, of the
// private directory (arriving at privateArrives, kept at privateFd).
// bash has no builtin that sets FD_CLOEXEC, but two of its rules do: a
// descriptor it saves while a redirection is in force is close-on-exec,
// and a descriptor duplicated (N>&M) from a close-on-exec one is made
// close-on-exec too. So the arriving descriptors are closed around a group
// that finds bash's saved copies and duplicates them to their places.
// Programs a command runs then never inherit them, without the per-command
// "254>&- 253>&-" (twenty syscalls and ~15 µs of bash per command). The
// setup checks the flag in /proc/self/fdinfo and, should a bash not have
// set it, defines the alias with those closes instead (aliasClosing).
// Close-on-exec backups stay at 252 and 251 (see postSetup). The alias
// text is defined here too (__sbx_A).
func cloexecSetup(private bool) string {
	s := `exec 252>&4`
	find := `if [[ /proc/self/fd/$__sbx_n -ef /proc/self/fd/252 ]]; then exec ` + statusFd + `>&$__sbx_n; fi`
	closeArr := `4>&-`
	after := `exec 4>&- 252>&` + statusFd
	if private {
		s += ` 251<&` + strconv.Itoa(privateArrives)
		find = `if [[ /proc/self/fd/$__sbx_n -ef /proc/self/fd/252 ]]; then exec ` + statusFd + `>&$__sbx_n; elif [[ /proc/self/fd/$__sbx_n -ef /proc/self/fd/251 ]]; then exec ` + strconv.Itoa(privateFd) + `<&$__sbx_n; fi`
		closeArr += ` ` + strconv.Itoa(privateArrives) + `<&-`
		after += ` ` + strconv.Itoa(privateArrives) + `<&- 251<&` + strconv.Itoa(privateFd)
	}
	check := `__sbx_cx ` + statusFd
	if private {
		check += ` && __sbx_cx ` + strconv.Itoa(privateFd)
	}
	return s + "\n{ for ((__sbx_n=10; __sbx_n<100; __sbx_n++)); do " + find + "; done; } " + closeArr + "\n" + after + "; builtin unset __sbx_n\n" +
		`__sbx_cx() { local k v; while builtin read -r k v; do if [[ $k == flags: ]]; then ((8#$v & 8#2000000)); return; fi; done </proc/self/fdinfo/$1; return 1; }` + "\n" +
		`if ` + check + `; then builtin readonly __sbx_A=` + quote(aliasText) + `; else builtin readonly __sbx_A=` + quote(aliasClosing) + `; fi; builtin unset -f __sbx_cx` + "\n"
}

// postSetup defines __sbx_post, which writes the status record after each
// command and checks the alias, and the repairs it falls back on. The
// status socket and the private directory are descriptors of bash itself
// now, which a command's own "exec 254>&-" or "exec 253<&-" could close:
// cloexecSetup leaves close-on-exec backups at 252 and 251, from which a
// failed status write restores both, and so does a command that ended
// with status 1 (what a failed open of the output FIFOs gives) whose 253
// is no longer the private directory.
func postSetup(private bool) string {
	rec := `builtin printf '%s %s\0%s\0' "$__sbx_s" "$1" "$PWD" >&` + statusFd
	fix := `exec ` + statusFd + `>&252`
	post := `__sbx_post() { ` + rec + ` || __sbx_fix "$1"; __sbx_ok || __sbx_a; }`
	chk := ""
	if private {
		fix += `; exec ` + strconv.Itoa(privateFd) + `<&251`
		post = `__sbx_post() { ` + rec + ` || __sbx_fix "$1"; [[ $1 != 1 ]] || __sbx_chk; __sbx_ok || __sbx_a; }`
		chk = `__sbx_chk() { [[ /proc/self/fd/` + strconv.Itoa(privateFd) + ` -ef /proc/self/fd/251 ]] || exec ` + strconv.Itoa(privateFd) + `<&251; }` + "\n"
	} else {
		chk = `__sbx_chk() { :; }` + "\n"
	}
	return post + "\n" + `__sbx_fix() { ` + fix + `; ` + rec + `; }` + "\n" + chk
}

// shell is one running bash. Its methods are called with the session's lock held.
type shell struct {
	sb    *isolation.Sandbox
	proc  *isolation.Process
	tag   string // session tag; commands get tag/SEQ
	dir   string // this shell's FIFO directory, as init's ops reach it
	bdir  string // the same, as bash reaches it
	gen   int    // FIFO generation
	seq   int
	cwd   string
	stdin *os.File // write end of the command pipe (bash's script)

	// status channel (status_linux.go)
	status     int             // server end of the socket (raw, non-blocking)
	statusFile *os.File        // the same descriptor, in the runtime's poller (owns it)
	statusConn syscall.RawConn // statusFile's
	statusBuf  []byte          // bash's bytes not yet parsed (≤ maxStatusRecord)
	statusHup  bool            // no writer is left: bash closed it or is gone
	bashPid    int             // bash in the server's pid namespace (0: not yet known)
	dropped    int             // status messages dropped
	log        zerolog.Logger

	out, err *fifo
	// FIFO paths bash has been told (in $__sbx_o and $__sbx_e)
	sentOut, sentErr string

	wake    int // eventfd: context cancelled or bash exited; -1 once closed
	wakeMu  sync.Mutex
	pokes   uint64 // poke calls so far (under wakeMu; see waitStatus)
	retired []*os.File
}

// fifo is an output FIFO: its path inside the sandbox and our base read end
// (raw: see detach).
type fifo struct {
	path  string
	base  int
	dirty bool
}

// startShell spawns bash with env in dir and waits until it is ready.
func startShell(ctx context.Context, sb *isolation.Sandbox, log zerolog.Logger, tag string, env []string, dir string) (_ *shell, err error) {
	sh := &shell{sb: sb, log: log, tag: tag, wake: -1, status: -1}
	// The FIFOs live in the sandbox's private directory, which no sandbox
	// program reaches by a path: bash gets a descriptor of it (privateFd)
	// and opens them through its own /proc/self/fd.
	name := strings.ReplaceAll(tag, "/", "_")
	privFd := 0
	if p := sb.PrivateDir(); p != "" {
		sh.dir, sh.bdir = p+"/"+name, isolation.PrivatePathIn(privateFd)+"/"+name
		privFd = privateArrives
	} else {
		sh.dir = sb.RunDir() + "/" + name
		sh.bdir = sh.dir
	}
	defer func() {
		if err != nil {
			sh.close()
		}
	}()
	if sh.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	if err := sb.Do(ctx, opMkdir, mkdirReq{Path: sh.dir}, nil); err != nil {
		return nil, fmt.Errorf("create run directory: %w", err)
	}
	statusEnd, err := sh.openStatus()
	if err != nil {
		return nil, fmt.Errorf("status channel: %w", err)
	}
	setup := setupScript(tag, dir, privFd != 0)
	// The FIFOs and bash are independent round trips to init: overlap them.
	defer statusEnd.Close() // bash has its copy once spawned
	sh.gen = 1
	outPath, errPath := sh.dir+"/out.1", sh.dir+"/err.1"
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	sh.stdin = w
	r.Fd() // the child's end must be blocking (Fd switches it, as os/exec does)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	wg.Add(3)
	go func() { defer wg.Done(); sh.out, errs[1] = sh.makeFifo(ctx, outPath) }()
	go func() { defer wg.Done(); sh.err, errs[2] = sh.makeFifo(ctx, errPath) }()
	go func() {
		defer wg.Done()
		sh.proc, errs[3] = sb.Spawn(ctx, isolation.Spec{
			Path:  "/bin/bash",
			Args:  []string{"bash", "--norc", "--noprofile", "/dev/fd/3"},
			Env:   append(slices.Clip(env), setupVar+"="+setup),
			Dir:   "/",
			Files: []*os.File{nil, nil, nil, r, statusEnd},
			Tag:   tag,
			// No other sandbox process can reach bash (ptrace,
			// /proc/PID/mem, /proc/PID/fd/255): see status_linux.go.
			NonDumpable: true,
			PrivateFd:   privFd,
			// Without job cgroups, what a command double-forks stays
			// below bash (which reaps it): timeouts and delete_session
			// find it by descent.
			Subreaper: true,
		})
	}()
	wg.Wait()
	r.Close()
	if sh.proc == nil && errs[3] == nil {
		errs[3] = errors.New("no process")
	}
	if errs[3] != nil {
		errs[3] = fmt.Errorf("start bash: %w", errs[3])
	}
	if err := errors.Join(errs...); err != nil {
		if sh.proc != nil {
			sh.kill()
		}
		return nil, err
	}
	go func() { <-sh.proc.Done(); sh.poke() }()

	// bash reads its script pipe one byte per read(2); the setup (~1.5 KB)
	// comes in the environment instead and the pipe carries one short line.
	if _, err := sh.stdin.Write([]byte("builtin eval \"$" + setupVar + "\"; builtin unset " + setupVar + "\n")); err != nil {
		return nil, fmt.Errorf("start bash: %w", err)
	}
	res := sh.wait(ctx, 0, time.Now().Add(10*time.Second), nil, nil, nil)
	if res.shellExited || res.timedOut || sh.bashPid == 0 {
		return nil, fmt.Errorf("bash did not start in %s", dir)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return sh, nil
}

// setupScript is the script bash evaluates before the first command (it
// comes in the environment, see startShell).
func setupScript(tag, dir string, private bool) string {
	// bash runs /dev/fd/3 (the command pipe) as a script and keeps it at a
	// high descriptor, normally 255; __sbx_fd is found by comparing with
	// fd 3, which is then closed (by a plain exec: the redirections of a
	// "builtin exec" would be undone), and $0 is set back to bash. bash's
	// stdin stays /dev/null, so a command needs no stdin redirection (about
	// ten syscalls fewer per command). bash's own stdout and stderr are
	// closed once set up: a command's >OUT 2>ERR then opens straight into
	// fds 1 and 2 and undoing it is two closes, and the status record goes
	// into fd 1 too (a dup of the status socket), instead of bash saving,
	// moving and restoring descriptors around each (half of bash's syscalls
	// per command). A user's "exec >file" only makes that session take the
	// longer path. __sbx_g switches to the C locale (so read -N counts
	// bytes) only for records that are not ASCII: each locale switch costs
	// bash ~15 µs. The status socket arrives at fd 4 and the private
	// directory at 5; they move to statusFd and privateFd (cloexecSetup),
	// next to the script's descriptor, out of the way of a user's exec 4>file.
	// bash starts non-dumpable in "/" (isolation.Spec.NonDumpable: the
	// directory is entered without root's DAC capabilities) and changes to
	// dir here; its comm is the memfd's descriptor number until renamed.
	return fmt.Sprintf(`builtin cd -- %[6]s || builtin exit 96; builtin unset OLDPWD; builtin declare -x OLDPWD; builtin printf bash >/proc/self/comm
__sbx_fd=255; if ! [[ /proc/$$/fd/255 -ef /proc/$$/fd/3 ]]; then for ((__sbx_fd=254; __sbx_fd>3; __sbx_fd--)); do [[ /proc/$$/fd/$__sbx_fd -ef /proc/$$/fd/3 ]] && break; done; fi; builtin readonly __sbx_fd; exec 3<&-; BASH_ARGV0=bash
((__sbx_fd < 251 || __sbx_fd > 254)) || builtin exit 97
%[7]s__sbx_q() { builtin read -u $__sbx_fd -r -N %[1]d __sbx_h; __sbx_s=${__sbx_h:1:%[9]d}; if [[ ${__sbx_h::1} == 0 ]]; then __sbx_f=${__sbx_h:%[8]d:${__sbx_h:%[10]d:5}}; else __sbx_g; fi; builtin export %[2]s=%[3]s/$__sbx_s; }
__sbx_g() { local IFS=' '; builtin set -- ${__sbx_h:%[10]d}; if (($4)); then local LC_ALL=C; fi; builtin read -u $__sbx_fd -r -N "$1" __sbx_c; __sbx_f=$__sbx_F0; if (($2)); then builtin read -u $__sbx_fd -r -N "$2" __sbx_p; __sbx_f=$__sbx_F1; fi; if (($3)); then builtin read -u $__sbx_fd -r -N "$3" __sbx_i; if (($2)); then __sbx_f=$__sbx_F3; else __sbx_f=$__sbx_F2; fi; fi; }
%[11]s%[4]sbuiltin readonly -f __sbx_q __sbx_g __sbx_post __sbx_fix __sbx_chk __sbx_a __sbx_ok
__sbx_a
__sbx_s=0 __sbx_post 0
exec 1>&- 2>&-
`, blockLen, isolation.TagEnv, quote(tag), aliasSetup, statusFd, quote(dir), cloexecSetup(private), headerLen, seqWidth, 1+seqWidth, postSetup(private))
}

// bashPath is the path bash opens for the FIFO at p (a path in sh.dir).
func (sh *shell) bashPath(p string) string { return sh.bdir + strings.TrimPrefix(p, sh.dir) }

func (sh *shell) newFifo(ctx context.Context, name string) (*fifo, error) {
	sh.gen++
	return sh.makeFifo(ctx, fmt.Sprintf("%s/%s.%d", sh.dir, name, sh.gen))
}

// makeFifo creates an output FIFO at p (safe to call concurrently).
func (sh *shell) makeFifo(ctx context.Context, p string) (*fifo, error) {
	f, err := sh.sb.MakeFifo(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("fifo %s: %w", p, err)
	}
	fd, err := detach(f)
	if err != nil {
		return nil, fmt.Errorf("fifo %s: %w", p, err)
	}
	// A larger pipe lets a fast producer run ahead while the server is busy
	// writing notifications (best effort: the limit is fs.pipe-max-size).
	unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, fifoSize)
	return &fifo{path: p, base: fd}, nil
}

// retire keeps draining an abandoned FIFO in the background (so whatever
// still writes to it does not get SIGPIPE) until EOF, keeping at most
// maxRetired; the oldest is closed beyond that.
func (sh *shell) retire(f *fifo) {
	raw, err := reopenRaw(f.base, unix.O_RDONLY)
	unix.Close(f.base)
	if err != nil {
		return
	}
	fd := os.NewFile(uintptr(raw), f.path) // non-blocking: the runtime poller waits
	sh.retired = append(sh.retired, fd)
	if len(sh.retired) > maxRetired {
		sh.retired[0].Close()
		sh.retired = sh.retired[1:]
	}
	go func() {
		buf := make([]byte, 32<<10)
		for {
			if _, err := fd.Read(buf); err != nil {
				fd.Close()
				return
			}
		}
	}()
}

// poke wakes the poll loop. It may run at any time (bash's exit watcher, a
// context's AfterFunc), so it shares wakeMu with close: a closed eventfd's
// number may already belong to another file.
func (sh *shell) poke() {
	var one = [8]byte{1}
	sh.wakeMu.Lock()
	defer sh.wakeMu.Unlock()
	sh.pokes++
	if sh.statusFile != nil && sh.wake >= 0 {
		sh.statusFile.SetReadDeadline(time.Now()) // ends a waitStatus
	}
	if sh.wake >= 0 {
		unix.Write(sh.wake, one[:])
	}
}

// alive reports whether bash is still running.
func (sh *shell) alive() bool {
	select {
	case <-sh.proc.Done():
		return false
	default:
		return true
	}
}

// command is one thing to run in the shell.
type command struct {
	text    string
	prelude string  // per-call cwd/env, run in a subshell with text
	stdin   *string // nil: /dev/null
	limit   int     // bytes kept per stream
	timeout time.Duration
	onChunk func(stream string, data []byte)
}

// outcome is what running a command produced.
type outcome struct {
	stdout, stderr *outbuf.Capture
	code           int
	timedOut       bool
	cancelled      bool
	shellExited    bool // bash ended (exit, set -e, killed as a runaway)
	shellKilled    bool // we killed bash because it did not stop
	duration       time.Duration
}

// run executes c and returns when it has finished, timed out or ctx ended.
func (sh *shell) run(ctx context.Context, c command) (outcome, error) {
	for _, f := range []**fifo{&sh.out, &sh.err} {
		if (*f).dirty {
			nf, err := sh.newFifo(ctx, map[bool]string{true: "out", false: "err"}[*f == sh.out])
			if err != nil {
				return outcome{}, err
			}
			sh.retire(*f)
			*f = nf
		}
	}
	sh.seq++
	var hdr string
	if sh.sentOut != sh.out.path || sh.sentErr != sh.err.path {
		// new output FIFOs: tell bash (by its own path to them)
		hdr = "__sbx_o=" + quote(sh.bashPath(sh.out.path)) + " __sbx_e=" + quote(sh.bashPath(sh.err.path)) + "\n"
		sh.sentOut, sh.sentErr = sh.out.path, sh.err.path
	}
	msg, seq := sh.message(hdr, c)
	tag := sh.tag + "/" + seq
	start := time.Now()
	writeErr := make(chan error, 1)
	if len(msg) <= smallWrite {
		// fits in the empty pipe: the write cannot block
		_, err := sh.stdin.Write(msg)
		writeErr <- err
	} else {
		go func() { _, err := sh.stdin.Write(msg); writeErr <- err }()
	}
	deadline := start.Add(c.timeout)
	res := sh.wait(ctx, sh.seq, deadline, []*fifo{sh.out, sh.err}, &c, &tag)
	res.duration = time.Since(start)
	if res.shellExited {
		sh.stdin.Close() // unblocks a pending write
	}
	<-writeErr
	return res, nil
}

// message is what the server writes to bash's script pipe for c (after
// hdr, the FIFO paths when they changed), and c's SEQ as bash has it.
func (sh *shell) message(hdr string, c command) ([]byte, string) {
	ilen := 0
	if c.stdin != nil {
		ilen = len(*c.stdin)
	}
	msg := make([]byte, 0, len(hdr)+len(alias)+2+blockLen+len(c.text)+len(c.prelude)+ilen)
	// The empty line first: after a syntax error inside eval, bash does not
	// alias-expand the first word of the next line it reads.
	msg = append(append(msg, hdr...), "\n"+alias+"\n"...)
	block := len(msg)
	inline := c.prelude == "" && c.stdin == nil && len(c.text) <= inlineMax && isASCII(c.text)
	msg = append(msg, "01"[b2i(!inline)])
	seq := len(msg)
	msg = strconv.AppendInt(msg, int64(sh.seq), 10)
	msg = padLeft(msg, seq, seqWidth, '0')
	seqText := string(msg[seq:])
	if inline {
		n := len(msg)
		msg = strconv.AppendInt(msg, int64(len(c.text)), 10)
		msg = padLeft(msg, n, 5, ' ')
		msg = append(msg, c.text...)
		for len(msg) < block+blockLen {
			msg = append(msg, ' ')
		}
		return msg, seqText
	}
	bytewise := 0 // 1: a record is not ASCII, bash must count bytes
	if !isASCII(c.text) || !isASCII(c.prelude) || (c.stdin != nil && !isASCII(*c.stdin)) {
		bytewise = 1
	}
	msg = fmt.Appendf(msg, "%d %d %d %d", len(c.text), len(c.prelude), ilen, bytewise)
	for len(msg) < block+blockLen {
		msg = append(msg, ' ')
	}
	msg = append(msg, c.text...)
	msg = append(msg, c.prelude...)
	if c.stdin != nil {
		msg = append(msg, *c.stdin...)
	}
	return msg, seqText
}

// padLeft pads msg[from:] on the left with pad to width bytes.
func padLeft(msg []byte, from, width int, pad byte) []byte {
	n := len(msg) - from
	if n >= width {
		return msg
	}
	msg = append(msg, make([]byte, width-n)...)
	copy(msg[from+width-n:], msg[from:from+n])
	for i := from; i < from+width-n; i++ {
		msg[i] = pad
	}
	return msg
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// kill ends bash and everything tagged with the session and waits for bash
// (bounded). It does not release the plumbing: a command still running on
// this shell sees bash exit and returns; close is for the lock holder.
func (sh *shell) kill() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sh.sb.Kill(ctx, isolation.Selector{Tag: sh.tag, Root: sh.proc.Pid, IncludeRoot: true}, syscall.SIGKILL)
	select {
	case <-sh.proc.Done():
	case <-ctx.Done():
	}
}

// close releases the server-side ends. bash, if still running, sees EOF on
// stdin and exits.
func (sh *shell) close() {
	if sh.stdin != nil {
		sh.stdin.Close()
	}
	if sh.statusFile != nil {
		sh.statusFile.Close()
		sh.status = -1
	}
	for _, f := range []*fifo{sh.out, sh.err} {
		if f != nil {
			unix.Close(f.base)
		}
	}
	for _, f := range sh.retired {
		f.Close()
	}
	sh.retired = nil
	sh.wakeMu.Lock()
	if sh.wake >= 0 {
		unix.Close(sh.wake)
		sh.wake = -1
	}
	sh.wakeMu.Unlock()
	if sh.dir != "" {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		sh.sb.Do(ctx, opRemoveAll, removeReq{Path: sh.dir}, nil)
		cancel()
	}
}

// reopenRaw opens fd's FIFO again through /proc/self/fd (a new open file
// description of the same FIFO; no path inside the sandbox is resolved),
// non-blocking, as a raw descriptor the caller polls and closes itself.
func reopenRaw(fd, mode int) (int, error) {
	nfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(fd), mode|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("reopen fifo: %w", err)
	}
	return nfd, nil
}

// detach turns a non-blocking *os.File into a raw descriptor of the same
// open file and closes f, which takes it out of the runtime's epoll set.
// The poll loop reads the FIFOs itself; registered there, every open,
// close and write by bash would also wake the runtime's poller thread.
func detach(f *os.File) (int, error) {
	fd, err := unix.FcntlInt(uintptr(rawFd(f)), unix.F_DUPFD_CLOEXEC, 0)
	f.Close()
	if err != nil {
		return -1, fmt.Errorf("dup fifo: %w", err)
	}
	return fd, nil
}

// bufPool holds read buffers for the poll loop.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// rawFd returns f's descriptor without switching it to blocking mode (which
// f.Fd() would do).
func rawFd(f *os.File) int {
	sc, err := f.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	sc.Control(func(u uintptr) { fd = int(u) })
	return fd
}

// isASCII reports whether s has only 7-bit bytes, which every locale bash
// can run in counts one character each.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// quote returns s as a single-quoted shell word.
func quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

var errDeleted = errors.New("session was deleted")
