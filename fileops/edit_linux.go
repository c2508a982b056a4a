package fileops

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

const opEditFile = "edit_file"

// editBodyMaxBytes bounds an edit_file request read from its pipe.
const editBodyMaxBytes = 256 << 20

// EditFileRequest applies Edits to Path in order, all or nothing.
type EditFileRequest struct {
	Path     string `json:"path"`
	Edits    []Edit `json:"edits"`
	DryRun   bool   `json:"dry_run"`
	IfSHA256 string `json:"if_sha256"`
}

// EditFileResult is what EditFile returns.
type EditFileResult struct {
	Replacements  []int       `json:"replacements"` // per edit
	Diff          string      `json:"diff"`         // unified, 3 lines of context
	DiffTruncated bool        `json:"diff_truncated"`
	Changed       []LineRange `json:"changed"`
	OldSHA256     string      `json:"old_sha256"`
	SHA256        string      `json:"sha256"` // of the new content (what it would be, for a dry run)
	CRLF          bool        `json:"crlf"`   // the file's lines end in CRLF, and still do
	Size          int64       `json:"size"`   // new size in bytes
	Target        string      `json:"target,omitempty"`
}

// EditFile edits a file inside the sandbox. The request crosses a pipe (an
// edit's strings may be larger than a control message).
func EditFile(ctx context.Context, s *isolation.Sandbox, req EditFileRequest) (EditFileResult, error) {
	var res EditFileResult
	body, err := json.Marshal(req)
	if err != nil {
		return res, err
	}
	r, w, err := bulkPipe(len(body))
	if err != nil {
		return res, fmt.Errorf("edit_file: pipe: %w", err)
	}
	done := make(chan struct{})
	go func() {
		w.Write(body)
		w.Close()
		close(done)
	}()
	stop := context.AfterFunc(ctx, func() { w.Close() })
	defer stop()
	err = s.Do(ctx, opEditFile, struct{}{}, &res, r)
	r.Close()
	<-done
	return res, err
}

func init() {
	registerPipeOp(opEditFile, func(ctx context.Context, _ struct{}, f *os.File) (any, error) {
		var req EditFileRequest
		body, err := io.ReadAll(io.LimitReader(f, editBodyMaxBytes+1))
		if err != nil || len(body) > editBodyMaxBytes {
			return nil, &isolation.OpError{Op: opEditFile, Kind: isolation.KindInvalid, Msg: "request too large or cut short"}
		}
		if err := json.Unmarshal(body, &req); err != nil {
			return nil, &isolation.OpError{Op: opEditFile, Kind: isolation.KindInvalid, Msg: "bad request: " + err.Error()}
		}
		return editFileOp(ctx, req)
	})
}

func editFileOp(ctx context.Context, req EditFileRequest) (EditFileResult, error) {
	const op = opEditFile
	var res EditFileResult
	path := req.Path
	if err := checkAbs(op, path); err != nil {
		return res, err
	}
	if len(req.Edits) == 0 {
		return res, &isolation.OpError{Op: op, Path: path, Kind: isolation.KindInvalid, Msg: "no edits given"}
	}
	final, st, exists, err := resolveFinal(op, path)
	if err != nil {
		return res, err
	}
	if !exists {
		return res, &isolation.OpError{Op: op, Path: path, Kind: isolation.KindNotFound, Msg: "no such file", Errno: unix.ENOENT}
	}
	if final != path {
		res.Target = final
		if d, err := filepath.EvalSymlinks(splitDir(final)); err == nil {
			res.Target = filepath.Join(d, filepath.Base(final))
		}
	}
	data, st, err := readForEdit(op, path, final)
	if err != nil {
		return res, err
	}
	sum := sha256.Sum256(data)
	res.OldSHA256 = hex.EncodeToString(sum[:])
	if req.IfSHA256 != "" && !strings.EqualFold(req.IfSHA256, res.OldSHA256) {
		return res, &isolation.OpError{Op: op, Path: path, Kind: KindStale,
			Msg: "the file changed since it was read: its sha256 is " + res.OldSHA256 + ", not " + req.IfSHA256 + "; nothing was written"}
	}
	if !utf8.Valid(data) {
		return res, &isolation.OpError{Op: op, Path: path, Kind: isolation.KindInvalid,
			Msg: "is not valid UTF-8 text (binary, or another encoding); nothing was written"}
	}
	content := string(data)
	res.CRLF = isCRLF(content)
	edits := req.Edits
	if res.CRLF {
		content = strings.ReplaceAll(content, "\r\n", "\n")
		edits = make([]Edit, len(req.Edits))
		for i, e := range req.Edits {
			e.OldString = strings.ReplaceAll(e.OldString, "\r\n", "\n")
			e.NewString = strings.ReplaceAll(e.NewString, "\r\n", "\n")
			edits[i] = e
		}
	}
	out, counts, err := applyEdits(content, edits)
	if err != nil {
		ee := err.(*editError)
		return res, &isolation.OpError{Op: op, Path: path, Kind: ee.kind, Msg: ee.msg + " Nothing was written."}
	}
	res.Replacements = counts
	res.Diff, res.DiffTruncated, res.Changed = unifiedDiff(path, content, out)
	if res.CRLF {
		out = strings.ReplaceAll(out, "\n", "\r\n")
	}
	newData := []byte(out)
	sum = sha256.Sum256(newData)
	res.SHA256 = hex.EncodeToString(sum[:])
	res.Size = int64(len(newData))
	if req.DryRun {
		return res, nil
	}
	// Refuse to overwrite a change made while we worked.
	var now unix.Stat_t
	if err := unix.Stat(final, &now); err != nil || now.Ino != st.Ino || now.Size != st.Size || now.Mtim != st.Mtim {
		return res, &isolation.OpError{Op: op, Path: path, Kind: KindStale, Msg: "the file changed while it was being edited; nothing was written"}
	}
	if _, err := replaceFile(ctx, op, path, final, st.Mode&07777, true, &st, int64(len(newData)), bytes.NewReader(newData)); err != nil {
		return res, err
	}
	return res, nil
}

// readForEdit reads the regular file final (path as the caller named it)
// whole, at most EditMaxBytes.
func readForEdit(op, path, final string) ([]byte, unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := unix.Open(final, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		if err == unix.ELOOP {
			return nil, st, &isolation.OpError{Op: op, Path: path, Kind: isolation.KindInvalid, Msg: "changed while being opened (symlink swapped in)"}
		}
		return nil, st, fileOpError(op, path, err)
	}
	f := os.NewFile(uintptr(fd), final)
	defer f.Close()
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, st, fileOpError(op, path, err)
	}
	if err := readableRegular(op, path, st.Mode); err != nil {
		return nil, st, err
	}
	if st.Size > EditMaxBytes {
		return nil, st, &isolation.OpError{Op: op, Path: path, Kind: isolation.KindTooLarge,
			Msg: fmt.Sprintf("is %d bytes; edit_file edits files up to %d bytes", st.Size, EditMaxBytes)}
	}
	data := make([]byte, 0, st.Size+1)
	for {
		n, err := f.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF || n == 0 && err == nil {
			break
		}
		if err != nil {
			return nil, st, fileOpError(op, path, err)
		}
		if len(data) == cap(data) {
			if len(data) > EditMaxBytes {
				return nil, st, &isolation.OpError{Op: op, Path: path, Kind: isolation.KindTooLarge, Msg: "grew past the edit limit while being read"}
			}
			data = append(data, 0)[:len(data)]
		}
	}
	return data, st, nil
}

// isCRLF tells whether content's lines end in CRLF: it has at least one,
// and every LF follows a CR.
func isCRLF(content string) bool {
	n := strings.Count(content, "\n")
	return n > 0 && strings.Count(content, "\r\n") == n
}
