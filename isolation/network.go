package isolation

// Network modes (Config.Network).
const (
	NetworkHost  = "host"  // the host's network, unfiltered
	NetworkNone  = "none"  // own network namespace, loopback only
	NetworkAllow = "allow" // own namespace; egress only through the proxy (Config.Proxy)
)

// Addresses inside the sandbox where init listens for the proxy in network
// mode allow; each accepted connection is handed to Config.Proxy.
const (
	ProxyHTTPAddr  = "127.0.0.1:3128"
	ProxySOCKSAddr = "127.0.0.1:1080"
)

// proxyEnv is added to every sandbox process's environment in mode allow,
// upper and lower case (curl reads only the lower-case http_proxy).
func proxyEnv() []string {
	vals := [][2]string{
		{"HTTP_PROXY", "http://" + ProxyHTTPAddr},
		{"HTTPS_PROXY", "http://" + ProxyHTTPAddr},
		{"ALL_PROXY", "socks5h://" + ProxySOCKSAddr},
		{"NO_PROXY", "localhost,127.0.0.1,::1"},
	}
	var env []string
	for _, kv := range vals {
		env = append(env, kv[0]+"="+kv[1], lower(kv[0])+"="+kv[1])
	}
	return env
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// ListeningPort is a TCP port a sandbox process listens on.
type ListeningPort struct {
	Port int    `json:"port"`
	Addr string `json:"addr"` // the bound address: 0.0.0.0, 127.0.0.1, ::, ...
	Pid  int    `json:"pid"`  // the process holding the socket (inside the sandbox)
}
