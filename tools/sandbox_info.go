package tools

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/sbx-mcp/sbx-mcp/config"
	"github.com/sbx-mcp/sbx-mcp/egress"
	"github.com/sbx-mcp/sbx-mcp/isolation"
	"github.com/sbx-mcp/sbx-mcp/server"
)

type sandboxInfoArgs struct{}

type sandboxInfoResult struct {
	Version string `json:"version" jsonschema_description:"sbx-mcp version."`
	Commit  string `json:"commit,omitempty" jsonschema_description:"VCS commit of the build."`
	isolation.Info
	Network  networkInfo `json:"network" jsonschema_description:"Network mode and egress policy."`
	Restarts int         `json:"restarts" jsonschema_description:"How many times the sandbox died (its init) and was replaced by a fresh one."`
	LastLoss string      `json:"last_loss,omitempty" jsonschema_description:"Why the sandbox last died."`
}

type networkInfo struct {
	Mode         string                `json:"mode" jsonschema_description:"allow: own network namespace, egress only through the filtering proxy; none: loopback only; host: the host's network, unfiltered."`
	Requested    string                `json:"requested,omitempty" jsonschema_description:"The mode asked for, when it could not be had (see reasons)."`
	Allowed      []string              `json:"allowed" jsonschema_description:"Host name patterns the proxy lets through (mode allow; '*' = every public address)."`
	AllowedCIDRs []string              `json:"allowed_cidrs" jsonschema_description:"Address prefixes reachable even when private, loopback or link-local."`
	HTTPProxy    string                `json:"http_proxy,omitempty" jsonschema_description:"HTTP proxy inside the sandbox (HTTP_PROXY, HTTPS_PROXY)."`
	SOCKSProxy   string                `json:"socks_proxy,omitempty" jsonschema_description:"SOCKS5 proxy inside the sandbox (ALL_PROXY)."`
	DeniedRecent []egress.DenialRecord `json:"denied_recent" jsonschema_description:"The most recent refusals (at most 50), oldest first."`
}

func (r sandboxInfoResult) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sbx-mcp %s", r.Version)
	if r.Commit != "" {
		fmt.Fprintf(&b, " (%s)", r.Commit)
	}
	fmt.Fprintf(&b, "\nisolation level: %s\nworkdir: %s\nkernel: %s  root: %v\n", r.Level, r.Workdir, r.Kernel, r.Root)
	names := make([]string, 0, len(r.Layers))
	for k := range r.Layers {
		names = append(names, k)
	}
	sort.Strings(names)
	var on, off []string
	for _, k := range names {
		if r.Layers[k] {
			on = append(on, k)
		} else {
			off = append(off, k)
		}
	}
	fmt.Fprintf(&b, "layers on: %s\nlayers off: %s\n", list(on), list(off))
	lim := func(n int64, unit string) string {
		if n == 0 {
			return "none"
		}
		return fmt.Sprintf("%d%s", n, unit)
	}
	cpus := "none"
	if r.Limits.CPUs > 0 {
		cpus = fmt.Sprintf("%g", r.Limits.CPUs)
	}
	fmt.Fprintf(&b, "limits: pids %s, memory %s, cpus %s\n", lim(int64(r.Limits.Pids), ""), lim(r.Limits.MemoryBytes, " bytes"), cpus)
	if r.Restarts > 0 {
		fmt.Fprintf(&b, "restarts: %d (last: %s)\n", r.Restarts, r.LastLoss)
	}
	n := r.Network
	switch n.Mode {
	case isolation.NetworkAllow:
		fmt.Fprintf(&b, "network: allow (egress through the proxy %s, socks5 %s); allowed: %s", n.HTTPProxy, n.SOCKSProxy, list(n.Allowed))
		if len(n.AllowedCIDRs) > 0 {
			fmt.Fprintf(&b, "; cidrs: %s", list(n.AllowedCIDRs))
		}
		b.WriteByte('\n')
	case isolation.NetworkNone:
		b.WriteString("network: none (loopback only)\n")
	default:
		b.WriteString("network: host (the host's network, unfiltered)\n")
	}
	if n.Requested != "" {
		fmt.Fprintf(&b, "network mode %s was requested but is not possible here\n", n.Requested)
	}
	for _, d := range n.DeniedRecent {
		fmt.Fprintf(&b, "denied %s %s:%d: %s\n", d.At.Format("15:04:05"), d.Host, d.Port, d.Reason)
	}
	fs := r.Filesystem
	state := "memory"
	if fs.State != nil {
		state = *fs.State
	}
	fmt.Fprintf(&b, "filesystem: root %s (lower %s, writable layer in %s); writable: %s; read-only: %s; hidden: %s\n",
		fs.Root, fs.Rootfs, state, list(fs.Writable), list(fs.Readonly), list(fs.Hidden))
	for _, reason := range r.Reasons {
		fmt.Fprintf(&b, "- %s\n", reason)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

// networkOf reports the network mode reached and the proxy's policy and
// recent refusals.
func networkOf(d *Deps) networkInfo {
	n := networkInfo{Mode: d.Config.Network, Allowed: []string{}, AllowedCIDRs: []string{}, DeniedRecent: []egress.DenialRecord{}}
	if sb := d.CurrentSandbox(); sb != nil {
		n.Mode = sb.NetworkMode()
	}
	if n.Mode != d.Config.Network {
		n.Requested = d.Config.Network
	}
	if n.Mode == isolation.NetworkAllow && d.Egress != nil {
		n.Allowed = d.Egress.Policy().Domains()
		n.AllowedCIDRs = d.Egress.Policy().CIDRs()
		n.HTTPProxy = "http://" + isolation.ProxyHTTPAddr
		n.SOCKSProxy = "socks5h://" + isolation.ProxySOCKSAddr
		n.DeniedRecent = d.Egress.Denied()
	}
	return n
}

// kernelRelease reads the running kernel's release.
func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func init() {
	register("sandbox_info", nil, false, func(d *Deps) server.Tool {
		return server.NewTool("sandbox_info",
			"Report the isolation level, layers with reasons for gaps, limits, network mode with allow-list and recent refusals, filesystem (root, writable, read-only, hidden paths), workdir, versions. Read-only.",
			server.Annotations{Title: "Sandbox info", ReadOnlyHint: true, IdempotentHint: true},
			func(ctx context.Context, call *server.Call, _ sandboxInfoArgs) (sandboxInfoResult, error) {
				v, c := config.VersionInfo()
				r := sandboxInfoResult{Version: v, Commit: c}
				restarts, lost := d.Restarts()
				r.Restarts = restarts
				if lost != nil {
					r.LastLoss = lost.Error()
				}
				d.mu.Lock()
				sb, sbErr := d.Sandbox, d.SandboxErr
				d.mu.Unlock()
				if sb != nil {
					r.Info = sb.Info()
				} else {
					r.Info = isolation.Info{
						Level:   isolation.LevelNone,
						Layers:  map[string]bool{},
						Reasons: []string{"the sandbox failed to start (see the server log); tools that run code are unavailable"},
						Workdir: d.Config.Workdir,
						Limits:  isolation.Limits{Pids: d.Config.Pids, MemoryBytes: d.Config.MemoryBytes, CPUs: d.Config.CPUs},
					}
					if sbErr != nil {
						r.Reasons[0] = "the sandbox failed to start: " + sbErr.Error()
					}
				}
				r.Network = networkOf(d)
				if r.Kernel == "" {
					r.Kernel = kernelRelease()
				}
				if !r.Root {
					r.Root = os.Geteuid() == 0
				}
				if r.Layers == nil {
					r.Layers = map[string]bool{}
				}
				if r.Reasons == nil {
					r.Reasons = []string{}
				}
				return r, nil
			})
	})
}
