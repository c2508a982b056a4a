// Package server implements the Model Context Protocol over stdio on top of
// github.com/sourcegraph/jsonrpc2: line framing that survives malformed
// input, both eras of the protocol on one connection (the stateless
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
//	reader ──Stream.ReadObject (validate, answer bad lines)──► jsonrpc2.Conn read loop
//	        ──Server.Handle (sync: discover, initialize, ping, cancel, list, tasks/*; async: tools/call)
//	writers (handlers, progress) ──Stream.writeLine (one mutex)──► writer
//
// jsonrpc2's IDs are uint64, so the Stream hands jsonrpc2 a small synthetic
// message per line (method plus a sequence number as id) and keeps the
// original frame (raw id, params) for the handler, which runs synchronously
// on the read loop right after ReadObject returned. Replies are written by
// the Server itself so ids are echoed byte for byte and results are never
// null.
//
// Byte-level JSON (validation, the raw walker, quoting, the line encoder)
// lives in jsonwire. Buffers that results and arguments borrow belong to
// the server: a result's OwnedBytes and a call's TextBytes arguments are
// given back after the response is written (or dropped), never by a tool.
package server
