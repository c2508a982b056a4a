package server

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind (every
// goroutine has an owner and an exit).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
