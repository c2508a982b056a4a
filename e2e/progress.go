package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// ProgressNote is one progress notification and when the client got it.
type ProgressNote struct {
	At     time.Time
	Params *mcp.ProgressNotificationParams
}

// ProgressLog records the progress notifications a client receives.
type ProgressLog struct {
	mu    sync.Mutex
	notes []ProgressNote
}

// ConnectProgress connects like Connect, with a client that records every
// progress notification; onNote, when set, also sees each one as it comes.
func ConnectProgress(t testing.TB, onNote func(*mcp.ProgressNotificationParams), flags ...string) (*mcp.ClientSession, *ProgressLog) {
	t.Helper()
	log := &ProgressLog{}
	cs := ConnectWith(t, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			log.mu.Lock()
			log.notes = append(log.notes, ProgressNote{time.Now(), r.Params})
			log.mu.Unlock()
			if onNote != nil {
				onNote(r.Params)
			}
		},
	}, flags...)
	return cs, log
}

// Notes returns the notifications received so far.
func (l *ProgressLog) Notes() []ProgressNote {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]ProgressNote(nil), l.notes...)
}

// Messages returns the notifications' messages, in order.
func (l *ProgressLog) Messages() []string {
	var m []string
	for _, n := range l.Notes() {
		m = append(m, n.Params.Message)
	}
	return m
}

// Values returns the notifications' progress values, in order.
func (l *ProgressLog) Values() []float64 {
	var v []float64
	for _, n := range l.Notes() {
		v = append(v, n.Params.Progress)
	}
	return v
}
