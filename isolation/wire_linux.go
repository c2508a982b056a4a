package isolation

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Message kinds of the control protocol (see doc.go).
const (
	kConfig  = "config"
	kHello   = "hello"
	kSpawn   = "spawn"
	kSignal  = "signal"
	kKill    = "kill"
	kKillAll = "killall"
	kOp      = "op"
	kCancel  = "cancel"
	kReply   = "reply"
	kExit    = "exit"
)

// maxMsg bounds one control message. Bulk data goes through pipes passed
// as files, never through the socket.
const (
	maxMsg = 1 << 20
	maxFDs = 64
)

type message struct {
	ID   uint64          `json:"id,omitempty"`
	Kind string          `json:"k"`
	Op   string          `json:"op,omitempty"`
	Body json.RawMessage `json:"b,omitempty"`
	Err  *wireError      `json:"e,omitempty"`
}

type wireError struct {
	Msg   string   `json:"msg"`
	Errno int      `json:"errno,omitempty"`
	Op    *OpError `json:"op_error,omitempty"`
}

func (e *wireError) err() error {
	if e.Op != nil {
		return e.Op
	}
	if e.Errno != 0 {
		return &remoteError{msg: e.Msg, errno: syscall.Errno(e.Errno)}
	}
	return errors.New(e.Msg)
}

// remoteError is an error from init that wraps an errno (errors.Is works).
type remoteError struct {
	msg   string
	errno syscall.Errno
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.errno }

func toWireError(err error) *wireError {
	if err == nil {
		return nil
	}
	w := &wireError{Msg: err.Error()}
	var oe *OpError
	if errors.As(err, &oe) {
		w.Op = oe
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		w.Errno = int(errno)
	}
	return w
}

type spawnReq struct {
	Path  string   `json:"path"`
	Args  []string `json:"args"`
	Env   []string `json:"env"`
	Dir   string   `json:"dir"`
	Files []int    `json:"files"` // per child fd: index into the attached fds, -1 = /dev/null
	Tag   string   `json:"tag,omitempty"`
	Ctty  bool     `json:"ctty,omitempty"` // fd 0 becomes the controlling terminal
	// NonDumpable: start it non-dumpable (nondump_linux.go).
	NonDumpable bool `json:"nondump,omitempty"`
	// PrivateFd > 0: the child's fd that gets the private directory.
	PrivateFd int `json:"private_fd,omitempty"`
	// Subreaper: make it a child subreaper where there are no job cgroups.
	Subreaper bool `json:"subreaper,omitempty"`
}

type spawnResp struct {
	Pid int `json:"pid"`
}

type signalReq struct {
	Pid int `json:"pid"`
	Sig int `json:"sig"`
}

type killReq struct {
	Tag         string `json:"tag,omitempty"`
	Root        int    `json:"root,omitempty"`
	IncludeRoot bool   `json:"include_root,omitempty"`
	SinceNano   int64  `json:"since,omitempty"` // unix nanoseconds, 0 = none
	Sig         int    `json:"sig"`
	All         bool   `json:"all,omitempty"`
}

type killResp struct {
	N int `json:"n"`
}

type exitEvent struct {
	Pid    int `json:"pid"`
	Code   int `json:"code"`
	Signal int `json:"signal"`
}

// conn is one end of the control socket. Sends are atomic per message
// (SOCK_SEQPACKET); recv is called by a single reader goroutine.
type conn struct {
	c   *net.UnixConn
	wmu sync.Mutex
	buf []byte
	oob []byte
}

func newConn(f *os.File) (*conn, error) {
	fc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	uc, ok := fc.(*net.UnixConn)
	if !ok {
		fc.Close()
		return nil, errors.New("control socket: not a unix socket")
	}
	return &conn{c: uc, buf: make([]byte, maxMsg), oob: make([]byte, unix.CmsgSpace(maxFDs*4))}, nil
}

// send writes m with files and raw fds attached (files first). It reads the
// fds without touching their blocking mode.
func (c *conn) send(m *message, files []*os.File, raw ...int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(b) > maxMsg {
		return fmt.Errorf("control message of %d bytes exceeds %d: pass bulk data through a pipe", len(b), maxMsg)
	}
	var oob []byte
	if len(files)+len(raw) > 0 {
		if len(files)+len(raw) > maxFDs {
			return fmt.Errorf("too many files (%d > %d)", len(files)+len(raw), maxFDs)
		}
		fds := make([]int, 0, len(files)+len(raw))
		for _, f := range files {
			fd, err := rawFd(f)
			if err != nil {
				return err
			}
			fds = append(fds, fd)
		}
		oob = unix.UnixRights(append(fds, raw...)...)
	}
	c.wmu.Lock()
	_, _, err = c.c.WriteMsgUnix(b, oob, nil)
	c.wmu.Unlock()
	runtime.KeepAlive(files)
	return err
}

// recv reads one message and the fds that came with it (close-on-exec).
func (c *conn) recv() (*message, []*os.File, error) {
	n, oobn, flags, _, err := c.c.ReadMsgUnix(c.buf, c.oob)
	if err != nil {
		return nil, nil, err
	}
	var files []*os.File
	if oobn > 0 {
		cmsgs, perr := unix.ParseSocketControlMessage(c.oob[:oobn])
		if perr == nil {
			for _, cm := range cmsgs {
				fds, ferr := unix.ParseUnixRights(&cm)
				if ferr != nil {
					continue
				}
				for _, fd := range fds {
					files = append(files, os.NewFile(uintptr(fd), "sbx-fd"))
				}
			}
		}
	}
	if n == 0 && oobn == 0 {
		return nil, nil, errEOF
	}
	if flags&(unix.MSG_TRUNC|unix.MSG_CTRUNC) != 0 {
		closeAll(files)
		return nil, nil, errors.New("control message truncated")
	}
	m := new(message)
	if err := json.Unmarshal(c.buf[:n], m); err != nil {
		closeAll(files)
		return nil, nil, fmt.Errorf("control message: %w", err)
	}
	return m, files, nil
}

func (c *conn) close() error { return c.c.Close() }

var errEOF = errors.New("control socket closed")

func closeAll(files []*os.File) {
	for _, f := range files {
		if f != nil {
			f.Close()
		}
	}
}

// rawFd returns f's descriptor without switching it to blocking mode (as
// f.Fd does). The caller keeps f alive while it uses the number.
func rawFd(f *os.File) (int, error) {
	sc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := sc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		return -1, err
	}
	return fd, nil
}
