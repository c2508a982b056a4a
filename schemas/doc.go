// Package schemas holds the generated JSON schemas of every sbx-mcp tool,
// one file per tool (<name>.json: input and output schema), so reviewers
// see schema changes in diffs and clients can be checked against them.
//
// Regenerate after changing a tool's args or result struct:
//
//	go generate ./schemas
//
// TestSchemasFresh fails when a file is stale.
//
// # The dialect of input schemas
//
// Clients hand input schemas to a model provider's function calling, and
// the strictest dialects reject much of JSON Schema: OpenAI's strict mode
// wants additionalProperties false on every object and takes no map-style
// additionalProperties; Gemini's function declarations (an OpenAPI 3.0
// subset) take one type name per schema, no type arrays such as
// ["string","null"], and no additionalProperties schemas. Input schemas
// therefore use only type (one name), description, properties, required,
// items, enum, minimum, maximum and additionalProperties: false
// (TestInputSchemasStrictDialect).
//
// What that costs, and how it is kept:
//
//   - Optional fields are those left out of required. Callers that send
//     null for every unused optional (OpenAI strict mode makes every field
//     required and nullable) are fine: null for an optional field is the
//     field left out, and an integral 30000.0 is accepted for an integer.
//   - env is a list of "NAME=value" strings, not a map; unset_env lists the
//     names to unset (where the old form had {"NAME": null}). The object
//     form {"NAME": "value" or null} of earlier versions still decodes: the
//     validator accepts it (server.AltSchemaer) though tools/list shows only
//     the list.
//
// Output schemas are not shown to a model provider, so they keep type
// arrays for fields that may be null.
package schemas
