package isolation

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

// TestStartErrorUnwraps: the skip predicate of the suite (isUnsupported)
// sees through Start's error to each rung's errno.
func TestStartErrorUnwraps(t *testing.T) {
	err := error(&StartError{Tried: []*LevelError{
		{Level: LevelFull, Err: fmt.Errorf("clone: %w", syscall.EPERM)},
		{Level: LevelNone, Err: errors.New("init exited during start-up")},
	}})
	if !errors.Is(err, syscall.EPERM) || !isUnsupported(err) {
		t.Fatalf("EPERM not found in %v", err)
	}
	var le *LevelError
	if !errors.As(err, &le) || le.Level != LevelFull {
		t.Fatalf("LevelError not found in %v", err)
	}
	if got, want := err.Error(), "start sandbox: full: clone: operation not permitted; none: init exited during start-up"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if errors.Is(&StartError{Tried: []*LevelError{{Level: LevelNone, Err: errors.New("x")}}}, syscall.EPERM) {
		t.Fatal("EPERM found where there is none")
	}
}
