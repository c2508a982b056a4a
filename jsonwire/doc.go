// Package jsonwire is the byte-level JSON of sbx-mcp's wire: what the
// protocol layer (server/) needs to read and write multi-megabyte
// messages within its budgets, kept apart so that server/ reads as the
// MCP protocol.
//
//   - Valid checks one JSON value, scanning strings eight bytes at a time
//     (FuzzValidJSON checks it against jsontext).
//   - Members, Items, Kind and Unquote walk JSON that was already
//     validated, finding where values start and end without checking them
//     again (FuzzMembers checks Members against a decoder).
//   - AppendQuoted and QuotedPrefix quote text exactly as the encoder does,
//     eight bytes at a time (FuzzAppendQuoted).
//   - Marshal encodes a message into one line with encoding/json's
//     semantics, leaving big strings out and splicing them in as it writes
//     (each distinct one quoted once); Unmarshal decodes with the wire's
//     leniency (duplicate names, invalid UTF-8 as U+FFFD).
//   - Text is a string or bytes that encode as a JSON string without a
//     copy; OwnedBytes hands a recycled buffer to the Line that encodes it,
//     which gives it back on Release.
//   - TextBytes is a string argument decoded straight into a recycled
//     buffer; TextFields takes big ones out of an arguments object before
//     the typed decode and gives them back with Release.
//
// Buffers are recycled through freelist: at the sizes of a file read or a
// write_file, a fresh buffer costs more than the work done in it.
package jsonwire
