package session

// The status channel: how bash tells the server that a command finished.
//
// It is one end of a SOCK_SEQPACKET socketpair that bash inherits (moved to
// a high descriptor at start-up); the server holds the other end with
// SO_PASSCRED, so the kernel stamps every message with the pid of the
// process that wrote it. No path in the sandbox leads to it (a socket cannot
// be reopened through /proc/PID/fd), and a message counts only when bash
// itself wrote it: the commands bash runs inherit the descriptor, but what
// they write carries their own pid and is dropped. bash's pid in the
// server's pid namespace is learnt from the first record, written by the
// setup script before any user command runs, and checked against the pid
// the sandbox reported for the spawn (/proc/PID/status NSpid).
//
// Only bash can write from bash's pid: it is non-dumpable, so no other
// sandbox process can ptrace it or inject code through its memory or its
// script pipe (shell_linux.go). Code bash itself evaluates can write a
// record (it is the shell: see the package doc), but only the one for the
// command in flight is taken.
//
// Record: "SEQ CODE\0PWD\0" (printf may split a long one over messages).
// Only the record for the command in flight is taken; any other is dropped
// and logged.

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	// maxStatusRecord bounds one status record (a PWD is at most a few KiB;
	// bash can exceed PATH_MAX with relative cds, not 64 KiB).
	maxStatusRecord = 64 << 10
	// maxStatusReads bounds the messages read per poll wake-up, so a
	// process flooding the channel cannot keep the loop from its other work.
	maxStatusReads = 64
)

// statusRecord is one parsed record.
type statusRecord struct {
	seq, code int
	pwd       string
}

var errBadRecord = errors.New("malformed status record")

// nextRecord parses the first record of b. It returns the bytes consumed
// (0: b holds no complete record yet); a malformed complete record is
// consumed and reported as errBadRecord.
func nextRecord(b []byte) (statusRecord, int, error) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return statusRecord{}, 0, nil
	}
	j := bytes.IndexByte(b[i+1:], 0)
	if j < 0 {
		return statusRecord{}, 0, nil
	}
	n := i + 1 + j + 1
	head := string(b[:i])
	s, code, ok := strings.Cut(head, " ")
	if !ok {
		return statusRecord{}, n, errBadRecord
	}
	seq, err1 := strconv.Atoi(s)
	rc, err2 := strconv.Atoi(code)
	if err1 != nil || err2 != nil || seq < 0 {
		return statusRecord{}, n, errBadRecord
	}
	return statusRecord{seq: seq, code: rc, pwd: string(b[i+1 : i+1+j])}, n, nil
}

// newStatusChannel returns the server's end (raw, non-blocking, with
// SO_PASSCRED) and bash's end of a fresh status channel.
func newStatusChannel() (int, *os.File, error) {
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, nil, err
	}
	if err := unix.SetsockoptInt(sp[0], unix.SOL_SOCKET, unix.SO_PASSCRED, 1); err != nil {
		unix.Close(sp[0])
		unix.Close(sp[1])
		return -1, nil, err
	}
	if err := unix.SetNonblock(sp[0], true); err != nil {
		unix.Close(sp[0])
		unix.Close(sp[1])
		return -1, nil, err
	}
	return sp[0], os.NewFile(uintptr(sp[1]), "sbx-status"), nil
}

// openStatus makes the shell's status channel and returns bash's end.
// The server's end is also registered with the runtime's poller
// (statusFile), for waitStatus.
func (sh *shell) openStatus() (*os.File, error) {
	fd, end, err := newStatusChannel()
	if err != nil {
		return nil, err
	}
	sh.status = fd
	sh.statusFile = os.NewFile(uintptr(fd), "sbx-status") // non-blocking: pollable
	if sh.statusConn, err = sh.statusFile.SyscallConn(); err != nil {
		end.Close()
		return nil, err
	}
	return end, nil
}

// readStatus reads what the status channel holds (at most maxStatusReads
// messages, and no further than a complete record from bash) and appends
// bash's messages to statusBuf. It sets statusHup once no writer is left.
// It reports whether it read anything (or saw the hang-up).
func (sh *shell) readStatus() bool {
	var oob [256]byte // room for the credentials and a few stray fds
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	msg := (*bp)[:maxStatusRecord]
	got := false
	for range maxStatusReads {
		n, oobn, flags, _, err := unix.Recvmsg(sh.status, msg, oob[:], unix.MSG_DONTWAIT|unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return got // EAGAIN: nothing more for now
		}
		got = true
		pid := sh.sender(oob[:oobn])
		if n == 0 && oobn == 0 {
			sh.statusHup = true // every writer has closed it
			return got
		}
		switch {
		case pid == 0:
			sh.dropStatus("no credentials", pid)
		case !sh.fromBash(pid):
			sh.dropStatus("not written by the session's bash", pid)
		case flags&unix.MSG_TRUNC != 0 || len(sh.statusBuf)+n > maxStatusRecord:
			sh.statusBuf = sh.statusBuf[:0]
			sh.dropStatus("record too large", pid)
		default:
			sh.statusBuf = append(sh.statusBuf, msg[:n]...)
			// A complete record is what the wait is for: what else is
			// queued is read on the next call (the socket stays readable).
			if bytes.Count(sh.statusBuf, []byte{0}) >= 2 {
				return got
			}
		}
	}
	return got
}

// waitStatus waits, without holding a thread, until the status channel
// has a message or hangs up, until passes, or poke is called after the
// caller took gen (pokeGen). The runtime's poller wakes the goroutine; a
// blocking poll(2) would cost a thread hand-off per command (the
// scheduler gives the blocked thread's P away and takes one back).
func (sh *shell) waitStatus(gen uint64, until time.Time) {
	sh.statusFile.SetReadDeadline(until)
	sh.wakeMu.Lock()
	poked := sh.pokes != gen
	sh.wakeMu.Unlock()
	if poked {
		return
	}
	sh.statusConn.Read(func(uintptr) bool { return sh.readStatus() })
}

// pokeGen returns the count of pokes so far (see waitStatus).
func (sh *shell) pokeGen() uint64 {
	sh.wakeMu.Lock()
	defer sh.wakeMu.Unlock()
	return sh.pokes
}

// sender returns the pid in the message's credentials (0: none) and closes
// any descriptors a sender attached.
func (sh *shell) sender(oob []byte) int {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	pid := 0
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Level != unix.SOL_SOCKET {
			continue
		}
		switch m.Header.Type {
		case unix.SCM_CREDENTIALS:
			if cred, err := unix.ParseUnixCredentials(m); err == nil {
				pid = int(cred.Pid)
			}
		case unix.SCM_RIGHTS:
			fds, _ := unix.ParseUnixRights(m)
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
	}
	return pid
}

// fromBash reports whether pid (in the server's pid namespace) is the
// session's bash. The first record comes from the setup script, before any
// user command has run, so its sender is learnt and checked once.
func (sh *shell) fromBash(pid int) bool {
	if sh.bashPid != 0 {
		return pid == sh.bashPid
	}
	if sh.proc == nil || nsPid(pid) != sh.proc.Pid {
		return false
	}
	sh.bashPid = pid
	return true
}

// nsPid returns pid's number in its innermost pid namespace (the last
// NSpid field of /proc/PID/status), or -1.
func nsPid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return -1
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
			f := strings.Fields(v)
			if len(f) == 0 {
				return -1
			}
			n, err := strconv.Atoi(f[len(f)-1])
			if err != nil {
				return -1
			}
			return n
		}
	}
	return -1
}

// dropStatus logs a dropped status message (the first few per shell, then
// every thousandth, so a flood cannot flood the log).
func (sh *shell) dropStatus(why string, pid int) {
	sh.dropped++
	if sh.dropped <= 5 || sh.dropped%1000 == 0 {
		sh.log.Warn().Str("session", sh.tag).Int("sender_pid", pid).Int("dropped", sh.dropped).
			Msg("status message dropped: " + why)
	}
}

// takeStatus consumes complete status records; it reports the exit code of
// seq once its record has arrived. Records for any other command are
// dropped and logged.
func (sh *shell) takeStatus(seq int) (int, bool) {
	for {
		rec, n, err := nextRecord(sh.statusBuf)
		if n == 0 {
			return 0, false
		}
		sh.statusBuf = sh.statusBuf[:copy(sh.statusBuf, sh.statusBuf[n:])]
		if err != nil {
			sh.dropStatus("malformed record", sh.bashPid)
			continue
		}
		if rec.seq != seq {
			sh.dropStatus("record for command "+strconv.Itoa(rec.seq)+", not "+strconv.Itoa(seq), sh.bashPid)
			continue
		}
		sh.cwd = rec.pwd
		return rec.code, true
	}
}
