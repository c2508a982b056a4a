package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// tty measures terminal processes: a keystroke's echo back at the client
// (write_process_stdin of one character with until on its echo, which the
// terminal's line discipline sends), and get_process_screen of a full
// 120×40 screen.
func (b *bench) tty(ctx context.Context, s *server) ([]row, error) {
	if err := s.need("start_process", "write_process_stdin", "get_process_screen"); err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	defer func() {
		if s.tools["kill_all_processes"] {
			_, _, _ = s.tool(cctx, "kill_all_processes", nil, nil)
		}
	}()
	start := func(command string) (string, error) {
		tr, _, err := s.tool(cctx, "start_process", map[string]any{"command": command, "tty": true}, nil)
		if err != nil {
			return "", err
		}
		r, err := structured[struct{ ID string }](tr)
		return r.ID, err
	}

	id, err := start("exec cat")
	if err != nil {
		return nil, err
	}
	iters := min(b.n, 200)
	var echo []time.Duration
	for i := range iters + 3 {
		if i%50 == 49 { // end the line now and then (the line discipline holds 4 KiB)
			if _, _, err := s.tool(cctx, "write_process_stdin", map[string]any{"id": id, "keys": []string{"enter"}, "until": "\n", "wait_ms": 10000}, nil); err != nil {
				return nil, err
			}
		}
		tr, d, err := s.timed(cctx, "write_process_stdin", map[string]any{"id": id, "data": "k", "until": "k", "wait_ms": 10000})
		if err != nil {
			return nil, err
		}
		if w, err := structured[struct{ Matched bool }](tr); err != nil || !w.Matched {
			return nil, fmt.Errorf("keystroke echo did not arrive: %v", err)
		}
		if i >= 3 {
			echo = append(echo, d)
		}
	}

	// 39 full rows of text and a prompt-like last line.
	id, err = start(`for i in $(seq 1 39); do printf 'row %02d %s\n' $i "$(printf '%0111d' $i)"; done; printf 'done> '; exec sleep 3600`)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.tool(cctx, "write_process_stdin", map[string]any{"id": id, "until": "done> ", "wait_ms": 20000}, nil); err != nil {
		return nil, err
	}
	var screen []time.Duration
	for i := range min(b.n, 500) + 3 {
		tr, d, err := s.timed(cctx, "get_process_screen", map[string]any{"id": id})
		if err != nil {
			return nil, err
		}
		if i == 0 {
			sc, err := structured[struct {
				Lines []string
				Cols  int
				Rows  int
			}](tr)
			if err != nil || sc.Cols != 120 || sc.Rows != 40 || len(sc.Lines) != 40 || !strings.HasPrefix(sc.Lines[38], "row 39 ") {
				return nil, fmt.Errorf("screen is not the 120x40 page written (%v)", err)
			}
		}
		if i >= 3 {
			screen = append(screen, d)
		}
	}
	return []row{
		latencyRow("keystroke echo (`write_process_stdin` a key → `until` sees its echo)", echo, 5*time.Millisecond),
		latencyRow("`get_process_screen` 120×40, full", screen, time.Millisecond),
	}, nil
}
