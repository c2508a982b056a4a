// Package interp runs code contexts (python, javascript) inside the sandbox
// through small embedded driver programs (drivers/python.py,
// drivers/javascript.js, passed on the interpreter's command line with -c/-e
// so nothing has to be written into the sandbox first).
//
// A context is one long-lived driver process spawned through
// isolation.Sandbox.Spawn (tag "interp-<id>", so a kill reaches everything
// the user's code started). Default contexts are created on first use and
// their ids are the language names ("python", "javascript");
// create_code_context makes "python-N" / "javascript-N".
//
// Wiring of one driver:
//
//	server                          driver (inside the sandbox)
//	  reqs  ──pipe──► fd 3   {"id":n,"code":"..."}\n        (one cell at a time)
//	  resps ◄──pipe── fd 4   {"ready":true}\n once, then {"id":n,"results":[..],"error":..,"execution_count":c}\n
//	  out   ◄──pipe── fd 1   raw stdout bytes ... MARK
//	  errs  ◄──pipe── fd 2   raw stderr bytes ... MARK
//
// Bounds of what a driver writes toward the server: a line on fd 4 is at
// most MaxRecord (8 MiB); a longer one (or an endless one) kills the driver
// and the cell ends with error ResultTooLarge and state_lost. fds 1 and 2
// are read in 32 KiB pieces into the cell's bounded capture (head and tail,
// MaxOutput per stream) and dropped between cells; only a partial end
// marker (< 64 bytes) is held back between reads.
//
// Output: the driver's real fds 1 and 2 are pipes that the server reads, so
// output of subprocesses the user's code starts is captured too, and it is
// streamed as it is written (Python's sys.stdout/stderr are rewrapped
// write-through; node writes pipes synchronously). Ordering: after a cell
// the driver flushes and writes a per-driver random end marker to fd 1 and
// fd 2, then sends the response on fd 4. The server cuts markers out of the
// streams and counts them; it finishes cell n only once both streams have
// delivered n markers, so every byte the cell wrote precedes its result. A
// marker split across reads is held back until the next read decides.
// Output written between cells (background threads) is dropped.
//
// Interrupts: timeout_ms and client cancellation send SIGINT to the driver
// alone (KeyboardInterrupt in Python; breakOnSigint or a rejected await in
// node); the context keeps its state. If the cell has not answered Grace
// later, the driver and its process tree are killed, the result has
// state_lost=true, and the next cell starts a fresh interpreter. A driver
// that dies on its own is reported the same way.
//
// JavaScript: cells run in the driver's main V8 context (no cross-realm
// instanceof surprises). A dependency-free tokenizer splits the cell into
// top-level statements; top-level const/let/class are rewritten to var so
// they persist and may be declared again by a later cell (const loses its
// immutability). A cell that only compiles with top-level await is rewritten
// into an async IIFE whose declarations become assignments to hoisted
// globals and whose last expression statement is returned; otherwise the
// script's completion value is the main result (a returned promise is
// awaited, so a rejected one is the cell's error). Synchronous evaluation
// runs with breakOnSigint, except for cells without calls, loops, templates
// or `new` (the watchdog thread costs ~0.2 ms per cell); such a cell that
// still hangs (a looping getter from an earlier cell) is ended by the grace
// kill.
//
// Results: images (PNG, JPEG) are moved out of the results into
// Result.Images (sent as MCP image blocks) and replaced by "image:N", the
// index among the image blocks; text representations are capped at
// MaxOutput bytes each, stdout/stderr keep head and tail like exec.
package interp
