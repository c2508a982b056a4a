package isolation

import "strings"

// SandboxPath is the PATH every sandbox process starts with. It is never
// inherited from the server: Debian's /usr/bin/python3 must win over any
// pyenv shim or other per-user directory on the server's PATH.
const SandboxPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// baseEnv builds the allow-listed environment: fixed non-interactive
// variables, HOME, then extra (KEY=VAL entries; later ones win). Nothing
// comes from the server's own environment.
func baseEnv(home string, extra []string) []string {
	env := []string{
		"PATH=" + SandboxPath,
		"HOME=" + home,
		"LANG=C.UTF-8",
		"TERM=dumb",
		"CI=1",
		"PAGER=cat",
		"GIT_PAGER=cat",
		"DEBIAN_FRONTEND=noninteractive",
		"GIT_TERMINAL_PROMPT=0",
		"PYTHONUNBUFFERED=1",
	}
	for _, kv := range extra {
		env = setEnv(env, kv)
	}
	return env
}

// setEnv replaces or appends the KEY=VAL entry kv in env.
func setEnv(env []string, kv string) []string {
	key, _, ok := strings.Cut(kv, "=")
	if !ok || key == "" {
		return env
	}
	for i, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}
