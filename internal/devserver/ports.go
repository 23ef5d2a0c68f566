package devserver

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"go.temporal.io/server/common/config"
)

// Port is one TCP port the embedded server listens on.
type Port struct {
	// Name says what answers there: frontend (gRPC, what clients dial),
	// frontend-http (the HTTP API), history, matching, worker (the
	// services' internal gRPC), web-ui, metrics.
	Name string
	// Addr is its host:port, on the loopback address.
	Addr string
}

// Ports lists every port the server and its Web UI listen on. The server
// uses static membership (no membership port) and no pprof port.
func (s *Server) Ports() []Port { return s.ports }

// PortsString formats ports for a log line: "frontend=127.0.0.1:7233 …".
func PortsString(ports []Port) string {
	parts := make([]string, len(ports))
	for i, p := range ports {
		parts[i] = p.Name + "=" + p.Addr
	}
	return strings.Join(parts, " ")
}

// ports lists the ports of cfg and the server's configuration conf.
func ports(cfg Config, conf *config.Config) []Port {
	out := []Port{{"frontend", net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.FrontendPort))}}
	if cfg.HTTPPort > 0 {
		out = append(out, Port{"frontend-http", net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.HTTPPort))})
	}
	for _, name := range []string{"history", "matching", "worker"} {
		out = append(out, Port{name, net.JoinHostPort(cfg.IP, strconv.Itoa(conf.Services[name].RPC.GRPCPort))})
	}
	if cfg.UIPort > 0 {
		out = append(out, Port{"web-ui", net.JoinHostPort(cfg.IP, strconv.Itoa(cfg.UIPort))})
	}
	if cfg.MetricsAddr != "" {
		out = append(out, Port{"metrics", cfg.MetricsAddr})
	}
	return out
}

// checkLoopback refuses an IP or a metrics address off the loopback (the
// server has no authentication: on another address anyone reaching it
// could start workflows), and names a free port for metrics asked on port 0.
func checkLoopback(cfg *Config) error {
	if cfg.IP == "" {
		cfg.IP = "127.0.0.1"
	}
	if ip := net.ParseIP(cfg.IP); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("devserver: IP %q is not a loopback address: the embedded server listens only on loopback", cfg.IP)
	}
	if cfg.MetricsAddr == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(cfg.MetricsAddr)
	if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
		return fmt.Errorf("devserver: metrics address %q is not a loopback host:port: the embedded server listens only on loopback", cfg.MetricsAddr)
	}
	if port == "0" {
		p, err := freePort(host)
		if err != nil {
			return err
		}
		cfg.MetricsAddr = net.JoinHostPort(host, strconv.Itoa(p))
	}
	return nil
}
