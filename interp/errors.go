package interp

import "errors"

// Errors returned by the Manager; tools turn them into isError results.
var (
	ErrUnknownLanguage = errors.New("unknown language")
	ErrUnknownContext  = errors.New("unknown code context")
	ErrClosed          = errors.New("code interpreter is closed")
	ErrTooMany         = errors.New("too many code contexts")
)
