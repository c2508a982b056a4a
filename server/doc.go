// Package server implements the Model Context Protocol over stdio: line
// framing that survives malformed input, JSON-RPC dispatch, both eras of
// the protocol on one connection (the stateless
// 2026-07-28 revision, whose requests carry their version in _meta, and
// the legacy initialize lifecycle with its version negotiation and, at
// 2025-03-26, batches: modern.go, batch.go), the tool registry (tools/list,
// tools/call: call.go), progress, cancellation, logging, the Tasks
// extension and subscriptions/listen (tasks.go) and shutdown. It knows
// nothing about Linux or sandboxes; tools come in as []Tool, built with
// NewTool from typed handlers.
//
// Data flow:
//
//	reader ──Stream.next (validate, answer bad lines)──► Server.readLoop
//	        ──Server.handle (sync: discover, initialize, ping, cancel, list, tasks/*; async: tools/call)
//	writers (handlers, progress) ──Stream.writeLine (one mutex)──► writer
//
// The read loop hands each valid frame (raw id, method, params) to handle,
// which runs synchronously before the next line is read; a tools/call is
// queued and runs in a worker goroutine. (Until 2026-12 a jsonrpc2.Conn
// ran this loop, fed a synthetic request per frame that it decoded again
// with encoding/json: a fifth of the protocol layer's CPU per call.)
// Replies are written by the Server itself so ids are echoed byte for
// byte and results are never null.
//
// Byte-level JSON (validation, the raw walker, quoting, the line encoder)
// lives in jsonwire. Buffers that results and arguments borrow belong to
// the server: a result's OwnedBytes and a call's TextBytes arguments are
// given back after the response is written (or dropped), never by a tool.
package server
