package tools

import (
	"cmp"
	"github.com/sbx-mcp/sbx-mcp/server"
	"slices"
	"testing"

	"github.com/sbx-mcp/sbx-mcp/e2e"
)

// Budgets for what every client pays in context on each connection: the tool
// descriptions of tools/list and the initialize instructions.
const (
	descriptionsBudget = 7 * 1024 // bytes, all tool descriptions together (36 tools: about 200 B each)
	instructionsBudget = 2 * 1024 // bytes, hard limit of DESIGN §2
)

// TestDescriptionSizes keeps the tool descriptions short, so tools/list does
// not creep. Schema property descriptions are reported, not limited.
func TestDescriptionSizes(t *testing.T) {
	if len(entries) == 0 {
		t.Fatal("no tools registered")
	}
	type size struct {
		name         string
		desc, schema int
	}
	var sizes []size
	total, schemaTotal := 0, 0
	// All with the default configuration is what tools/list returns.
	list := All(&Deps{})
	if len(list) != len(entries) {
		t.Errorf("All returned %d tools, %d are registered", len(list), len(entries))
	}
	for _, tool := range list {
		if tool.Description == "" {
			t.Errorf("%s: empty description", tool.Name)
		}
		s := size{name: tool.Name, desc: len(tool.Description), schema: schemaLen(tool)}
		sizes = append(sizes, s)
		total += s.desc
		schemaTotal += s.schema
	}
	slices.SortFunc(sizes, func(a, b size) int { return cmp.Compare(b.desc, a.desc) })
	for _, s := range sizes {
		t.Logf("%-22s description %4d B, schemas %5d B", s.name, s.desc, s.schema)
	}
	t.Logf("%d tools: descriptions %d B (budget %d), schemas %d B", len(sizes), total, descriptionsBudget, schemaTotal)
	if total > descriptionsBudget {
		t.Errorf("tool descriptions total %d bytes, over the %d-byte budget: shorten the longest (listed above)", total, descriptionsBudget)
	}
}

// TestInstructionsSize measures the instructions the built binary really
// sends in initialize (they include the isolation level and workdir of this
// host, so the test runs the server rather than a helper).
func TestInstructionsSize(t *testing.T) {
	cs := e2e.Connect(t)
	res := cs.InitializeResult()
	if res == nil {
		t.Fatal("no initialize result")
	}
	n := len(res.Instructions)
	t.Logf("instructions: %d bytes", n)
	if n == 0 {
		t.Fatal("initialize returned no instructions")
	}
	if n >= instructionsBudget {
		t.Errorf("instructions are %d bytes, want < %d:\n%s", n, instructionsBudget, res.Instructions)
	}
}

func schemaLen(t server.Tool) int {
	in, out := t.Schemas()
	return len(in) + len(out)
}
