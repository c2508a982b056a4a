package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/invopop/jsonschema"

	"github.com/sbx-mcp/sbx-mcp/jsonwire"
)

// NewTool builds a Tool from a typed handler: the input schema is generated
// from A, the output schema from R; arguments are decoded strictly (unknown
// field, wrong type or missing required field → isError naming the field);
// a non-nil error from h becomes an isError result whose text is err.Error();
// a value of R becomes structuredContent plus a text block (R's Text() if it
// implements Texter, else indented JSON) and image blocks (Imager).
//
// Schemas follow the struct tags: `json` names fields (a field without
// omitempty is required), `jsonschema_description` (or
// `jsonschema:"description=..."`) describes them, `jsonschema:"enum=a,enum=b"`
// restricts them. A programming error in A or R (a recursive type, a $ref)
// panics at start-up.
func NewTool[A, R any](name, description string, ann Annotations, h func(ctx context.Context, call *Call, args A) (R, error)) Tool {
	inT, outT := reflect.TypeFor[A](), reflect.TypeFor[R]()
	structured := isObjectType(outT)
	// Schemas are generated on first use (tools/list or the first call):
	// reflecting every tool's types costs milliseconds that would otherwise
	// delay the initialize answer. schemas/ tests generate them all, so a
	// bad type still fails CI.
	var (
		once    sync.Once
		in, out json.RawMessage
		inMap   map[string]any
	)
	texts := jsonwire.TextFieldsOf(inT)
	gen := func() {
		in = mustSchema(name, inT, false)
		if err := json.Unmarshal(in, &inMap); err != nil {
			panic(err)
		}
		addAlternatives(inT, inMap)
		if structured {
			out = mustSchema(name, outT, true)
		}
	}
	t := Tool{Name: name, Title: ann.Title, Description: description, Annotations: ann}
	t.schemas = func() (json.RawMessage, json.RawMessage) {
		once.Do(gen)
		return in, out
	}
	t.Handle = func(ctx context.Context, call *Call, raw json.RawMessage) *Result {
		var args A
		once.Do(gen)
		if err := decodeArgs(raw, inMap, &args, texts); err != nil {
			return ErrorResult(err.Error())
		}
		if texts.Len() > 0 {
			// the decoded buffers stay the handler's until the response is out
			held := args
			call.afterResponse(func() { texts.Release(&held) })
		}
		r, err := h(ctx, call, args)
		if err != nil {
			return ErrorResult(err.Error())
		}
		return toResult(r, structured)
	}
	return t
}

// isObjectType reports whether values of t encode as JSON objects.
func isObjectType(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct || (t.Kind() == reflect.Map && t.Key().Kind() == reflect.String)
}

// toResult renders a handler's value.
func toResult(r any, structured bool) *Result {
	res := &Result{}
	if v := reflect.ValueOf(r); !v.IsValid() || (v.Kind() == reflect.Pointer && v.IsNil()) {
		return &Result{Content: []Content{{Type: "text", Text: String("ok")}}}
	}
	if structured {
		res.Structured = r
	}
	var text Text
	if tx, ok := r.(BlockTexter); ok {
		text = tx.TextBlock()
	} else if tx, ok := r.(Texter); ok {
		text = String(tx.Text())
	} else {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return ErrorResult("internal error: encode result: " + err.Error())
		}
		text = String(strings.TrimSuffix(buf.String(), "\n"))
	}
	res.Content = append(res.Content, Content{Type: "text", Text: text})
	if im, ok := r.(Imager); ok {
		res.Content = append(res.Content, im.Images()...)
	}
	return res
}

// SchemaFor returns the MCP-ready JSON schema of t: root object, no $ref,
// $defs or boolean subschemas, additionalProperties false. output marks
// the schema of a result (slices, maps and pointers that are not omitempty
// may then be null).
func SchemaFor(t reflect.Type, output bool) (json.RawMessage, error) {
	r := &jsonschema.Reflector{DoNotReference: true, Anonymous: true, ExpandedStruct: true}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	raw, err := json.Marshal(r.ReflectFromType(t))
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	delete(m, "$schema")
	delete(m, "$id")
	if m["type"] != "object" {
		return nil, fmt.Errorf("schema root of %v is %v, want an object (use a struct)", t, m["type"])
	}
	if _, ok := m["properties"]; !ok && t.Kind() == reflect.Struct {
		m["properties"] = map[string]any{}
	}
	nullable(t, m, output)
	if err := clean(m, ""); err != nil {
		return nil, fmt.Errorf("schema of %v: %w", t, err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimSpace(buf.Bytes())), nil
}

func mustSchema(tool string, t reflect.Type, output bool) json.RawMessage {
	s, err := SchemaFor(t, output)
	if err != nil {
		panic(fmt.Sprintf("tool %s: %v", tool, err))
	}
	return s
}

// subschemaKeys hold one schema; subschemaLists hold lists of schemas;
// subschemaMaps hold maps of schemas.
var (
	subschemaKeys  = []string{"items", "additionalProperties", "not", "contains", "propertyNames"}
	subschemaLists = []string{"anyOf", "oneOf", "allOf", "prefixItems"}
	subschemaMaps  = []string{"properties", "patternProperties"}
)

// clean rejects $ref/$defs and replaces boolean subschemas by objects
// (true → {}, false → {"not":{}}): clients reject boolean schemas.
func clean(m map[string]any, path string) error {
	for _, k := range []string{"$ref", "$defs", "definitions"} {
		if _, ok := m[k]; ok {
			return fmt.Errorf("%s at %q (recursive type?)", k, path)
		}
	}
	fix := func(v any, p string) (any, error) {
		switch x := v.(type) {
		case bool:
			if x {
				return map[string]any{}, nil
			}
			return map[string]any{"not": map[string]any{}}, nil
		case map[string]any:
			return x, clean(x, p)
		}
		return v, nil
	}
	var err error
	for _, k := range subschemaKeys {
		if v, ok := m[k]; ok {
			if k == "additionalProperties" && v == false {
				continue // a keyword value here, not a subschema to rewrite
			}
			if m[k], err = fix(v, path+"/"+k); err != nil {
				return err
			}
		}
	}
	for _, k := range subschemaLists {
		if l, ok := m[k].([]any); ok {
			for i := range l {
				if l[i], err = fix(l[i], fmt.Sprintf("%s/%s/%d", path, k, i)); err != nil {
					return err
				}
			}
		}
	}
	for _, k := range subschemaMaps {
		if mm, ok := m[k].(map[string]any); ok {
			for name := range mm {
				if mm[name], err = fix(mm[name], path+"/"+k+"/"+name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// makeNullable lets a schema also accept null.
func makeNullable(s map[string]any) {
	switch t := s["type"].(type) {
	case string:
		if t != "null" {
			s["type"] = []any{t, "null"}
		}
	case []any:
		for _, x := range t {
			if x == "null" {
				return
			}
		}
		s["type"] = append(t, "null")
	}
}

func nilable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
		return true
	}
	return false
}

var marshalerType = reflect.TypeFor[json.Marshaler]()

// nullable walks t and its schema s together: map values that are pointers
// accept null (e.g. env: {"A": null} unsets A); in output schemas, fields
// that may encode as null (nil slices, maps, pointers without omitempty)
// accept null too.
func nullable(t reflect.Type, s map[string]any, output bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s == nil || t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		props, _ := s["properties"].(map[string]any)
		if props == nil {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() && !f.Anonymous { // an embedded struct's fields are promoted
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				nullable(f.Type, s, output)
				continue
			}
			if name == "" {
				name = f.Name
			}
			p, _ := props[name].(map[string]any)
			if p == nil {
				continue
			}
			if output && nilable(f.Type) && !strings.Contains(","+opts+",", ",omitempty,") {
				makeNullable(p)
			}
			nullable(f.Type, p, output)
		}
	case reflect.Slice, reflect.Array:
		if it, ok := s["items"].(map[string]any); ok {
			if output && nilable(t.Elem()) {
				makeNullable(it)
			}
			nullable(t.Elem(), it, output)
		}
	case reflect.Map:
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			if t.Elem().Kind() == reflect.Pointer || (output && nilable(t.Elem())) {
				makeNullable(ap)
			}
			nullable(t.Elem(), ap, output)
		}
	}
}

// decodeArgs checks raw against the input schema (unknown, missing and
// mistyped fields, named by path, all of them at once) and then decodes it
// into v. Arguments are taken as language models send them: null for an
// optional field is the field left out, and an integral number such as
// 30000.0 or 3e4 is accepted for an integer field. The check walks raw's
// structure without validating it again (the frame it came in was
// validated; the decode checks every value anyway). The big string
// members bound for the TextBytes fields in texts are unquoted apart
// (jsonwire.TextFields), so a megabyte of write_file content costs one
// SWAR pass.
func decodeArgs(raw json.RawMessage, schema map[string]any, v any, texts jsonwire.TextFields) error {
	raw = bytes.TrimSpace(raw)
	c := argCheck{root: raw}
	if err := c.value(schema, raw, "", true); err != nil {
		return fmt.Errorf("invalid arguments: malformed JSON")
	}
	if len(c.problems) > 0 {
		msg := strings.Join(c.problems, "; ")
		if c.more > 0 {
			msg += fmt.Sprintf("; and %d more", c.more)
		}
		return fmt.Errorf("invalid arguments: %s", msg)
	}
	raw = c.rewritten()
	if err := texts.Unmarshal(raw, v); err != nil {
		if jsonwire.IsSyntaxError(err) {
			return fmt.Errorf("invalid arguments: malformed JSON: %v", err)
		}
		return fmt.Errorf("invalid arguments: %s", describeDecodeError(err, "arguments"))
	}
	return nil
}

// addAlternatives puts the legacy schema of each field of the struct type
// t whose type is an AltSchemaer into the validator's copy s of t's schema
// (under altKey, which clients never see).
func addAlternatives(t reflect.Type, s map[string]any) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	props, _ := s["properties"].(map[string]any)
	if t.Kind() != reflect.Struct || props == nil {
		return
	}
	for _, f := range reflect.VisibleFields(t) {
		alt, ok := reflect.Zero(f.Type).Interface().(AltSchemaer)
		if !ok || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if p, _ := props[name].(map[string]any); p != nil {
			p[altKey] = alt.JSONSchemaAlternative()
		}
	}
}

// maxProblems bounds the problems one invalid-arguments message lists.
const maxProblems = 20

// altKey is a validator-only schema keyword (never sent to clients): a
// second schema a value may match instead, for a legacy form an argument
// type still accepts without advertising it (see AltSchemaer).
const altKey = "x-sbx-alternative"

// AltSchemaer is implemented by an argument type that, besides the form its
// JSONSchema advertises, still decodes an older form (for callers written
// against an earlier schema). The validator accepts a value of either form;
// tools/list shows only the advertised one.
type AltSchemaer interface {
	JSONSchemaAlternative() map[string]any
}

// argCheck is one check of an arguments value: the problems found (each a
// clause naming its field) and the rewrites that make the value decodable
// (an integral 30000.0 becomes 30000), by offset in root.
type argCheck struct {
	root     []byte
	problems []string
	more     int // problems past maxProblems
	edits    []argEdit
}

type argEdit struct {
	start, end int
	repl       string
}

func (c *argCheck) problem(format string, a ...any) {
	if len(c.problems) >= maxProblems {
		c.more++
		return
	}
	c.problems = append(c.problems, fmt.Sprintf(format, a...))
}

// rewritten returns root with the edits applied (root itself without any).
func (c *argCheck) rewritten() []byte {
	if len(c.edits) == 0 {
		return c.root
	}
	out := make([]byte, 0, len(c.root))
	at := 0
	for _, e := range c.edits {
		out = append(out, c.root[at:e.start]...)
		out = append(out, e.repl...)
		at = e.end
	}
	return append(out, c.root[at:]...)
}

// value checks v against the subset of JSON Schema that SchemaFor produces
// (type, properties, required, additionalProperties, items, enum), adding
// each problem to c. It returns an error only for malformed JSON.
func (c *argCheck) value(s map[string]any, v []byte, path string, top bool) error {
	kind := jsonwire.Kind(v)
	if kind == "" {
		return jsonwire.ErrMalformed
	}
	if t, ok := s["type"]; ok {
		if ok, want := typeAllows(t, kind); !ok {
			if alt, _ := s[altKey].(map[string]any); alt != nil {
				if ok, _ := typeAllows(alt["type"], kind); ok {
					return c.value(alt, v, path, false)
				}
			}
			switch {
			case kind == "number" && strings.Contains(want, "integer"):
				if n, ok := integral(v); ok {
					start := cap(c.root) - cap(v) // v is root[start:start+len(v)]
					c.edits = append(c.edits, argEdit{start, start + len(v), n})
					return nil
				}
				c.problem("%s must be an integer, got %s", fieldName(path), v)
			case kind == "null":
				c.problem("%s must not be null (want %s)", fieldName(path), want)
			default:
				c.problem("%s must be %s, got %s", fieldName(path), article(want), kind)
			}
			return nil
		}
	}
	switch kind {
	case "object":
		return c.object(s, v, path)
	case "array":
		it, _ := s["items"].(map[string]any)
		if it == nil {
			return nil
		}
		return jsonwire.Items(v, func(i int, item []byte) error {
			return c.value(it, item, fmt.Sprintf("%s[%d]", path, i), false)
		})
	}
	enum, ok := s["enum"].([]any)
	if !ok || kind == "null" {
		return nil
	}
	text := string(v)
	if kind == "string" {
		var err error
		if text, err = jsonwire.Unquote(v); err != nil {
			return err
		}
	}
	var opts []string
	for _, e := range enum {
		if fmt.Sprint(e) == text {
			return nil
		}
		opts = append(opts, fmt.Sprint(e))
	}
	c.problem("%s must be one of %s, got %v", fieldName(path), strings.Join(opts, ", "), text)
	return nil
}

// object checks the members of the object v: a missing required member is
// reported first, then the members' problems in the order they came. A
// null optional member is the member left out.
func (c *argCheck) object(s map[string]any, v []byte, path string) error {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	props, _ := s["properties"].(map[string]any)
	req, _ := s["required"].([]any)
	required := func(k string) bool {
		for _, r := range req {
			if r == k {
				return true
			}
		}
		return false
	}
	var seen map[string]bool
	if len(req) > 0 {
		seen = make(map[string]bool, len(req))
	}
	listed := false // the known arguments are listed once
	first := len(c.problems)
	err := jsonwire.Members(v, func(k string, val []byte) error {
		if seen != nil {
			seen[k] = true
		}
		if ps, ok := props[k].(map[string]any); ok {
			if jsonwire.Kind(val) == "null" && !required(k) {
				return nil // null for an optional field: left out (the decode zeroes it)
			}
			return c.value(ps, val, join(k), false)
		}
		switch ap := s["additionalProperties"].(type) {
		case bool:
			if !ap && !listed {
				listed = true
				known := make([]string, 0, len(props))
				for p := range props {
					known = append(known, p)
				}
				sort.Strings(known)
				c.problem("unknown argument %s (known: %s)", fieldName(join(k)), strings.Join(known, ", "))
			} else if !ap {
				c.problem("unknown argument %s", fieldName(join(k)))
			}
		case map[string]any:
			return c.value(ap, val, join(k), false)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var missing []string
	for _, r := range req {
		if name, _ := r.(string); !seen[name] {
			missing = append(missing, fmt.Sprintf("missing required argument %s", fieldName(join(name))))
		}
	}
	if len(missing) > 0 { // first in this object's list
		c.problems = slices.Insert(c.problems, first, missing...)
		if over := len(c.problems) - maxProblems; over > 0 {
			c.problems = c.problems[:maxProblems]
			c.more += over
		}
	}
	return nil
}

// integral returns the integer text of the JSON number v when v is an
// integer written with a fraction or exponent (30000.0, 3e4, -2.50e1) that
// fits an int64.
func integral(v []byte) (string, bool) {
	if len(v) > 64 {
		return "", false
	}
	// big.Rat would expand 1e999999999: bound the exponent first
	if _, exp, ok := strings.Cut(strings.ToLower(string(v)), "e"); ok {
		if e, err := strconv.Atoi(exp); err != nil || e > 40 || e < -40 {
			return "", false
		}
	}
	r, ok := new(big.Rat).SetString(string(v))
	if !ok || !r.IsInt() || !r.Num().IsInt64() {
		return "", false
	}
	return r.Num().String(), true
}

func typeAllows(t any, kind string) (bool, string) {
	var types []string
	switch x := t.(type) {
	case string:
		types = []string{x}
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				types = append(types, s)
			}
		}
	default:
		return true, ""
	}
	for _, ty := range types {
		if ty == kind || (ty == "number" && kind == "integer") {
			return true, ""
		}
		if ty == "integer" && kind == "number" {
			continue
		}
	}
	return false, strings.Join(types, " or ")
}

func fieldName(path string) string {
	if path == "" {
		return "arguments"
	}
	return fmt.Sprintf("%q", path)
}

func article(t string) string {
	switch {
	case strings.HasPrefix(t, "a"), strings.HasPrefix(t, "i"), strings.HasPrefix(t, "o"):
		return "an " + t
	}
	return "a " + t
}
