package fileops

// read_file by lines: the op scans the file once (counting every line and
// hashing it), keeps the lines asked for, at most ReadFileMaxBytes, and
// sends them through a pipe.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/sbx-mcp/sbx-mcp/isolation"
)

const opReadLines = "read_file.lines"

// Line paging limits.
const (
	ReadLinesDefault = 2000      // lines when MaxLines is 0
	readLinesScanMax = 512 << 20 // past this, the total is not counted (TotalLines -1)
)

// ReadLinesRequest asks for MaxLines lines of Path from line StartLine
// (1-based; 0 means 1).
type ReadLinesRequest struct {
	Path      string `json:"path"`
	StartLine int64  `json:"start_line"`
	MaxLines  int64  `json:"max_lines"`
	MaxBytes  int    `json:"max_bytes,omitempty"` // whole lines up to this many bytes (0 or over ReadFileMaxBytes: ReadFileMaxBytes)
}

// ReadLinesResult is what ReadLines returns.
type ReadLinesResult struct {
	Size       int64  `json:"size"`
	TotalLines int64  `json:"total_lines"` // -1: not counted (file over 512 MiB)
	StartLine  int64  `json:"start_line"`
	EndLine    int64  `json:"end_line"`    // last line returned (StartLine-1 when none)
	ByteOffset int64  `json:"byte_offset"` // of StartLine in the file
	N          int64  `json:"n"`
	Truncated  bool   `json:"truncated"` // lines follow EndLine
	LineCut    bool   `json:"line_cut"`  // line EndLine alone is over the byte cap and was cut
	SHA256     string `json:"sha256,omitempty"`
	Data       []byte `json:"-"`
}

// ReadLines reads lines of a text file inside the sandbox.
func ReadLines(ctx context.Context, s *isolation.Sandbox, req ReadLinesRequest) (ReadLinesResult, error) {
	var res ReadLinesResult
	data, err := doReading(ctx, s, opReadLines, req.Path, ReadFileMaxBytes, req, &res, func(r io.Reader) ([]byte, error) {
		return readAllInto(r, make([]byte, 0, 64<<10), ReadFileMaxBytes+1)
	})
	if err != nil {
		return res, err
	}
	if int64(len(data)) != res.N {
		return res, &isolation.OpError{Op: opReadLines, Path: req.Path, Kind: isolation.KindIO, Msg: fmt.Sprintf("short read: got %d of %d bytes", len(data), res.N)}
	}
	res.Data = data
	return res, nil
}

func init() {
	registerPipeOp(opReadLines, func(ctx context.Context, req ReadLinesRequest, f *os.File) (any, error) {
		res, err := readLinesOp(ctx, req)
		if err != nil {
			return nil, err
		}
		if _, err := f.Write(res.Data); err != nil {
			return nil, &isolation.OpError{Op: opReadLines, Path: req.Path, Kind: isolation.KindIO, Msg: "stream to server: " + err.Error()}
		}
		return res, nil
	})
}

func readLinesOp(ctx context.Context, req ReadLinesRequest) (ReadLinesResult, error) {
	const op = opReadLines
	var res ReadLinesResult
	if req.StartLine < 0 || req.MaxLines < 0 {
		return res, &isolation.OpError{Op: op, Path: req.Path, Kind: isolation.KindInvalid, Msg: "start_line and max_lines must not be negative"}
	}
	f, st, _, err := openForRead(ReadFileRequest{Path: req.Path})
	if err != nil {
		return res, err
	}
	defer f.Close()
	start := max(req.StartLine, 1)
	count := req.MaxLines
	if count == 0 {
		count = ReadLinesDefault
	}
	end := start + count - 1 // last line wanted
	limit := ReadFileMaxBytes
	if req.MaxBytes > 0 && req.MaxBytes < limit {
		limit = req.MaxBytes
	}
	res.StartLine, res.EndLine = start, start-1
	h := sha256.New()
	buf := make([]byte, 256<<10)
	var out []byte
	line := int64(1) // line number of the next byte
	var off int64    // file offset of buf[0]
	var last byte
	full := false // the byte cap stopped the collection
	cont := false // the chunk starts in the middle of a line
	curStart := 0 // where the current line starts in out
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		n, rerr := f.Read(buf)
		chunk := buf[:n]
		if n > 0 {
			h.Write(chunk)
			last = chunk[n-1]
		}
		// Collect the wanted lines of this chunk.
		pos := 0
		for pos < n && line <= end && !full {
			nl := bytes.IndexByte(chunk[pos:], '\n')
			lineEnd := n
			if nl >= 0 {
				lineEnd = pos + nl + 1
			}
			if line >= start {
				if !cont {
					curStart = len(out)
					if line == start {
						res.ByteOffset = off + int64(pos)
					}
				}
				piece := chunk[pos:lineEnd]
				if len(out)+len(piece) > limit {
					if curStart == 0 { // the first line alone is too long: cut it
						out = append(out, piece[:limit-len(out)]...)
						res.EndLine, res.LineCut = line, true
					} else { // drop the partial line
						out = out[:curStart]
						res.EndLine = line - 1
					}
					full = true
					break
				}
				out = append(out, piece...)
				res.EndLine = line
			}
			if nl < 0 {
				cont = true // the line continues in the next chunk
				pos = n
				break
			}
			cont = false
			pos = lineEnd
			line++
		}
		// Count the rest of the chunk.
		if pos < n {
			line += int64(bytes.Count(chunk[pos:], []byte{'\n'}))
		}
		off += int64(n)
		if rerr == io.EOF || n == 0 {
			break
		}
		if rerr != nil {
			return res, fileOpError(op, req.Path, rerr)
		}
		if off > readLinesScanMax && (line > end || full) {
			res.TotalLines = -1
			break
		}
	}
	res.Size = max(st.Size, off)
	if res.TotalLines == 0 {
		res.TotalLines = line - 1
		if off > 0 && last != '\n' {
			res.TotalLines++ // a last line without a newline
		}
		res.SHA256 = hex.EncodeToString(h.Sum(nil))
		res.Truncated = res.EndLine < res.TotalLines || res.LineCut
	} else {
		res.Truncated = true
	}
	if res.EndLine < start {
		res.ByteOffset = res.Size
	}
	res.Data = slices.Clip(out)
	res.N = int64(len(out))
	return res, nil
}
