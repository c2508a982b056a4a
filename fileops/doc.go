// Package fileops holds the sandbox's file operations: read_file,
// write_file, list_files, file_info, mkdir, delete_file and move_file.
// Every one runs inside the sandbox's init (its mount namespace and
// credentials) as a registered op, so a user path is never resolved in the
// server's own process: /proc/self means the sandbox's.
//
// Bulk data never crosses the control socket. The client passes one end of
// a pipe with the request and streams through it:
//
//	read_file:  server ──req──► op;  op ──file bytes──► pipe ──► server
//	write_file: server ──req──► op;  server ──content──► pipe ──► op
//	list_files: server ──req──► op;  op ──entry records──► pipe ──► server
//
// The server closes its copy of the op's pipe end once the op returns; the
// op closes its copy before it returns, so EOF marks the end of the stream.
//
// Paths reaching an op are absolute (tools join relative paths to the
// session's cwd lexically). Symlinks: read_file and file_info's target
// follow them like open(2); list_files reports them and never follows them
// while recursing (the listed root itself is followed); delete_file removes
// the link, not its target; write_file writes through a symlink chain to
// its final target (the temp file is created next to the target and
// renamed over it, so the link survives), and since this happens in init's
// view it can only ever reach what the sandbox itself can reach.
//
// read_file.open is the exception to the pipe rule: on a disk or memory
// filesystem it replies with the open file itself (isolation.FileResult),
// which the server reads; those filesystems check nothing at read time
// beyond the open done inside. On procfs, sysfs and FUSE init reads the
// file and the bytes cross a pipe.
//
// # Errors
//
// Ops fail with *isolation.OpError: a Kind, the errno behind it and a
// message that says what happened, never what to do about it. errors.Is
// matches fs.ErrNotExist, fs.ErrPermission, fs.ErrExist, fs.ErrInvalid and
// the errno. The advice for a model ("use list_files ...") is added in
// tools/.
package fileops
