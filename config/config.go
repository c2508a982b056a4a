// Package config holds sbx-mcp's configuration: flags with SBX_* env twins.
package config

import "time"

// Config is the validated configuration of one server process.
type Config struct {
	Workdir     string        // --workdir / SBX_WORKDIR
	Isolation   string        // --isolation auto|strict|off
	Network     string        // --network allow|none|host
	AllowDomain []string      // --allow-domain PATTERN (repeatable; default egress.DefaultDomains)
	AllowCIDR   []string      // --allow-cidr PREFIX (repeatable)
	TestResolve string        // --test-resolve name=addr,...: for tests only, replaces DNS in the proxy
	MemoryBytes int64         // --memory (0 = no limit)
	Pids        int           // --pids (0 = no limit)
	CPUs        float64       // --cpus (0 = no limit)
	Timeout     time.Duration // --timeout: default command timeout (60s)
	MaxOutput   int           // --max-output: bytes kept per stream (16 KiB)
	// Caps (each past it is a clear error; see README "Limits").
	MaxSessions  int // --max-sessions: shell sessions at once (128)
	MaxProcesses int // --max-processes: background processes running at once (512)
	MaxContexts  int // --max-contexts: code contexts at once (32)
	// The tools/call queue (server.Options.MaxQueued, MaxQueuedBytes).
	MaxQueued      int           // --max-queued: calls waiting to run (10000)
	MaxQueuedBytes int           // --max-queued-bytes: their arguments' bytes (256 MiB)
	Toolsets       []string      // --toolsets: core, exec, process, files, code, all
	ReadOnly       bool          // --read-only
	Env            []string      // --env KEY=VAL (repeatable), added to every sandbox process
	Root           string        // --root overlay|readonly|host
	Rootfs         string        // --rootfs DIR: lower layer instead of the host's /
	State          string        // --state DIR: overlay upper layer kept on disk
	RW             []string      // --rw PATH (repeatable): host paths bound read-write
	RO             []string      // --ro PATH (repeatable): host paths bound read-only
	Hide           []string      // --hide PATH (repeatable): paths hidden inside
	LogLevel       string        // --log-level
	LogFile        string        // --log-file
	TaskAfter      time.Duration // --task-after: a long call becomes a task after this (Tasks extension; 5s)
	ExitGrace      time.Duration // --exit-grace: on stdin EOF, how long running calls may still finish (10s)
}
