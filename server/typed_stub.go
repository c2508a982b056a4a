package server

// TEMPORARY placeholder so tool files compile while the core is written;
// replaced by the real implementation (schema generation, strict decoding).

import "context"

// NewTool builds a Tool from a typed handler: the input schema is generated
// from A, the output schema from R; arguments are decoded strictly (unknown
// field, wrong type or missing required field → isError naming the field);
// a non-nil error from h becomes an isError result whose text is err.Error();
// a value of R becomes structuredContent plus a text block (R's Text() if it
// implements Texter, else indented JSON) and image blocks (Imager).
func NewTool[A, R any](name, description string, ann Annotations, h func(ctx context.Context, call *Call, args A) (R, error)) Tool {
	return Tool{Name: name, Description: description, Annotations: ann}
}
