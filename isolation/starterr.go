package isolation

import "strings"

// StartError is why Start found no level to run at: one error per rung
// tried. It unwraps to each of them, so errors.Is(err, syscall.EPERM)
// tells whether a rung was refused for lack of privilege.
type StartError struct {
	Strict bool          // --isolation strict: only full was acceptable
	Tried  []*LevelError // in the order tried
}

func (e *StartError) Error() string {
	parts := make([]string, len(e.Tried))
	for i, t := range e.Tried {
		parts[i] = t.Error()
	}
	if e.Strict {
		return "isolation strict: full isolation not reached: " + strings.Join(parts, "; ")
	}
	return "start sandbox: " + strings.Join(parts, "; ")
}

// Unwrap returns each rung's error.
func (e *StartError) Unwrap() []error {
	errs := make([]error, len(e.Tried))
	for i, t := range e.Tried {
		errs[i] = t
	}
	return errs
}

// LevelError is why one level could not be started.
type LevelError struct {
	Level Level
	Err   error
}

func (e *LevelError) Error() string { return string(e.Level) + ": " + e.Err.Error() }
func (e *LevelError) Unwrap() error { return e.Err }
