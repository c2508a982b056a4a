package server

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/sbx-mcp/sbx-mcp/jsonwire"
)

// The modern era (2026-07-28) is stateless: no initialize, and every
// request carries its protocol version, the client's capabilities and
// optionally a log level in params._meta. A request whose _meta names a
// version is served by the rules of that version, whatever else happened
// on the connection, so a legacy session and modern requests can share one
// stdio connection:
//
//	_meta protocolVersion   served as
//	absent                  legacy: needs initialize (server/discover and ping do not)
//	2026-07-28              modern: resultType and _meta serverInfo on every result
//	a legacy version        legacy (the version of initialize governs)
//	anything else           -32022 with data {supported, requested}

// ModernVersion is the stateless protocol revision.
const ModernVersion = "2026-07-28"

// SupportedVersions lists every version this server speaks, newest first:
// server/discover's supportedVersions and -32022's data.supported.
var SupportedVersions = append([]string{ModernVersion}, Versions...)

// Keys of _meta and capabilities.
const (
	metaProtocolVersion = "io.modelcontextprotocol/protocolVersion"
	metaClientCaps      = "io.modelcontextprotocol/clientCapabilities"
	metaLogLevel        = "io.modelcontextprotocol/logLevel"
	metaServerInfo      = "io.modelcontextprotocol/serverInfo"
	metaSubscriptionID  = "io.modelcontextprotocol/subscriptionId"
	// ExtTasks is the Tasks extension (github.com/modelcontextprotocol/ext-tasks).
	ExtTasks = "io.modelcontextprotocol/tasks"
)

// Error codes of the 2026-07-28 revision.
const (
	CodeMissingCapability  = -32021
	CodeUnsupportedVersion = -32022
)

// listTTLMs is tools/list's (and server/discover's) ttlMs: the tool list
// of a server process never changes, so a client may keep it for an hour.
const listTTLMs = 3600000

// reqMeta is what a request's params._meta says.
type reqMeta struct {
	version  string         // io.modelcontextprotocol/protocolVersion ("" when absent)
	logLevel int            // index into logLevels; -1: no notifications/message
	tasks    bool           // the client declared the Tasks extension
	progress jsontext.Value // progressToken (nil when absent or null)
}

// modern reports whether the request is served by the 2026-07-28 rules.
func (m *reqMeta) modern() bool { return m != nil && m.version == ModernVersion }

// parseMeta reads the _meta object (a validated JSON value). Only the keys
// the server uses are looked at; the walk skips the rest, so a request's
// metadata costs about a microsecond.
func parseMeta(meta []byte) (reqMeta, *wireError) {
	m := reqMeta{logLevel: -1}
	if len(meta) == 0 || jsonwire.Kind(meta) == "null" {
		return m, nil
	}
	if meta[0] != '{' {
		return m, invalidParams(`"_meta" must be an object`)
	}
	err := jsonwire.Members(meta, func(key string, val []byte) error {
		switch key {
		case "progressToken":
			if jsonwire.Kind(val) != "null" {
				if !validToken(json.RawMessage(val)) {
					return fmt.Errorf(`"_meta.progressToken" must be a string or a number`)
				}
				m.progress = jsontext.Value(val)
			}
		case metaProtocolVersion:
			if val[0] != '"' {
				return fmt.Errorf(`"_meta.%s" must be a string`, metaProtocolVersion)
			}
			v, err := jsonwire.Unquote(val)
			if err != nil {
				return err
			}
			m.version = v
		case metaLogLevel:
			if jsonwire.Kind(val) == "null" {
				return nil
			}
			l, _ := jsonwire.Unquote(val)
			if m.logLevel = slices.Index(logLevels, l); m.logLevel < 0 {
				return fmt.Errorf(`"_meta.%s" must be one of %v`, metaLogLevel, logLevels)
			}
		case metaClientCaps:
			if val[0] != '{' {
				return fmt.Errorf(`"_meta.%s" must be an object`, metaClientCaps)
			}
			return jsonwire.Members(val, func(k string, v []byte) error {
				if k == "extensions" && v[0] == '{' {
					return jsonwire.Members(v, func(ext string, _ []byte) error {
						m.tasks = m.tasks || ext == ExtTasks
						return nil
					})
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return m, invalidParams("%v", err)
	}
	return m, nil
}

// metaOf reads params._meta of a request other than tools/call (whose
// params splitCallParams walks once for everything).
func metaOf(params json.RawMessage) (reqMeta, *wireError) {
	if len(params) == 0 || params[0] != '{' {
		return reqMeta{logLevel: -1}, nil
	}
	var meta []byte
	if err := jsonwire.Members(params, func(key string, val []byte) error {
		if key == "_meta" {
			meta = val
		}
		return nil
	}); err != nil {
		return reqMeta{logLevel: -1}, invalidParams("%v", err)
	}
	return parseMeta(meta)
}

// checkVersion answers a request whose _meta names a version this server
// does not speak: -32022 with the versions it does.
func checkVersion(m *reqMeta) *wireError {
	if m.version == "" || slices.Contains(SupportedVersions, m.version) {
		return nil
	}
	return &wireError{
		Code:    CodeUnsupportedVersion,
		Message: "Unsupported protocol version",
		Data:    map[string]any{"supported": SupportedVersions, "requested": m.version},
	}
}

// missingTasks is the error for a Tasks method from a client that did not
// declare the extension in this request.
func missingTasks() wireError {
	return wireError{
		Code:    CodeMissingCapability,
		Message: "Missing required client capability: declare the " + ExtTasks + " extension in _meta clientCapabilities.extensions",
		Data:    map[string]any{"requiredCapabilities": map[string]any{"extensions": map[string]any{ExtTasks: map[string]any{}}}},
	}
}

// modernMethods are the requests a modern client may send. tools/call is
// handled in startCall; initialize and logging/setLevel do not exist in
// this revision (a -32601 says so).
var modernMethods = map[string]func(s *Server, f *frame, m *reqMeta) (any, *wireError){
	"server/discover": func(s *Server, f *frame, m *reqMeta) (any, *wireError) { return s.discover(), nil },
	"ping":            func(*Server, *frame, *reqMeta) (any, *wireError) { return nil, nil },
	"tools/list": func(s *Server, f *frame, m *reqMeta) (any, *wireError) {
		return s.listTools(f, ModernVersion)
	},
	"tasks/get":    (*Server).taskGet,
	"tasks/cancel": (*Server).taskCancel,
	"tasks/update": (*Server).taskUpdate,
}

// handleModern serves one stateless request.
func (s *Server) handleModern(f *frame, m *reqMeta) {
	if f.method == "subscriptions/listen" {
		s.listen(f, m)
		return
	}
	h, ok := modernMethods[f.method]
	if !ok {
		msg := "Method not found: " + f.method
		if f.method == "initialize" || f.method == "logging/setLevel" {
			msg += " is not part of protocol " + ModernVersion + " (send it without " + metaProtocolVersion + " in _meta to use the legacy handshake)"
		}
		s.replyError(f, wireError{Code: CodeMethodNotFound, Message: msg})
		return
	}
	res, werr := h(s, f, m)
	if werr != nil {
		s.replyError(f, *werr)
		return
	}
	s.reply(f, m, res)
}

// modernize adds what every modern result carries: resultType (unless the
// result has one: "task") and _meta with the server's identity.
func (s *Server) modernize(res any) any {
	switch r := res.(type) {
	case nil:
		return map[string]any{"resultType": "complete", "_meta": s.resultMeta}
	case map[string]any:
		if _, ok := r["resultType"]; !ok {
			r["resultType"] = "complete"
		}
		if _, ok := r["_meta"]; !ok {
			r["_meta"] = s.resultMeta
		}
		return r
	case wireResult:
		r.ResultType, r.Meta = "complete", s.resultMeta
		return r
	case *wireResult:
		r.ResultType, r.Meta = "complete", s.resultMeta
		return r
	}
	return res
}

// serverIcon is the server's icon: a small SVG (a box with a prompt).
const serverIcon = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect x="2" y="4" width="28" height="24" rx="4" fill="#1f2937"/><path d="M8 12l5 4-5 4" stroke="#34d399" stroke-width="2.5" fill="none" stroke-linecap="round" stroke-linejoin="round"/><path d="M16 21h8" stroke="#e5e7eb" stroke-width="2.5" stroke-linecap="round"/></svg>`

// icons are the server's icons (Implementation.icons, from 2025-11-25).
var icons = []map[string]any{{
	"src":      "data:image/svg+xml;base64," + base64.StdEncoding.EncodeToString([]byte(serverIcon)),
	"mimeType": "image/svg+xml",
	"sizes":    []string{"any"},
}}

// implementation is the server's Implementation object: name, version, and
// for clients that know them, title and icons.
func (s *Server) implementation(title, withIcons bool) map[string]any {
	info := map[string]any{"name": s.opts.Name, "version": s.opts.Version}
	if title {
		info["title"] = "sbx-mcp sandbox"
	}
	if withIcons {
		info["icons"] = icons
	}
	return info
}

// instructions are initialize's and server/discover's instructions.
func (s *Server) instructions() string {
	if s.opts.InstructionsFunc != nil {
		return s.opts.InstructionsFunc()
	}
	return s.opts.Instructions
}

// discover answers server/discover (in either era: a client probes with it
// before it knows which one it speaks).
func (s *Server) discover() any {
	res := map[string]any{
		"resultType":        "complete",
		"supportedVersions": SupportedVersions,
		"capabilities": map[string]any{
			"tools":      map[string]any{},
			"logging":    map[string]any{},
			"extensions": map[string]any{ExtTasks: map[string]any{}},
		},
		"ttlMs":      listTTLMs,
		"cacheScope": "private",
		"_meta":      map[string]any{metaServerInfo: s.implementation(true, true)},
	}
	if instr := s.instructions(); instr != "" {
		res["instructions"] = instr
	}
	return res
}
