package process

import (
	"context"
	"time"
)

// WithPorts fills ListeningPorts of the running records in infos with one
// scan inside the sandbox. A failed scan leaves them empty.
func (m *Manager) WithPorts(ctx context.Context, infos []Info) []Info {
	if m.sandbox() == nil {
		return infos
	}
	var pids []int
	for _, in := range infos {
		if in.Status == StatusRunning && in.Pid > 0 {
			pids = append(pids, in.Pid)
		}
	}
	if len(pids) == 0 {
		return infos
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ports, err := m.sandbox().ListeningPorts(ctx, pids)
	if err != nil {
		m.opts.Log.Debug().Err(err).Msg("listening ports")
		return infos
	}
	for i, in := range infos {
		if in.Status == StatusRunning {
			infos[i].ListeningPorts = ports[in.Pid]
		}
	}
	return infos
}
