package devserver

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// listeners returns the TCP sockets this process listens on, as host:port.
// It reads /proc: the sockets of the network namespace whose inodes are
// among this process's file descriptors.
func listeners(t *testing.T) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	require.NoError(t, err)
	mine := map[string]bool{}
	for _, fd := range fds {
		link, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if inode, ok := strings.CutPrefix(link, "socket:["); err == nil && ok {
			mine[strings.TrimSuffix(inode, "]")] = true
		}
	}
	var out []string
	for _, table := range []string{"/proc/self/net/tcp", "/proc/self/net/tcp6"} {
		f, err := os.Open(table)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 10 || fields[3] != "0A" || !mine[fields[9]] { // 0A: LISTEN
				continue
			}
			out = append(out, procAddr(t, fields[1]))
		}
		f.Close()
	}
	slices.Sort(out)
	return out
}

// procAddr decodes /proc/net/tcp's "0100007F:1F90" (little-endian words).
func procAddr(t *testing.T, s string) string {
	hexIP, hexPort, _ := strings.Cut(s, ":")
	raw, err := hex.DecodeString(hexIP)
	require.NoError(t, err)
	for i := 0; i+4 <= len(raw); i += 4 {
		slices.Reverse(raw[i : i+4])
	}
	port, err := strconv.ParseUint(hexPort, 16, 16)
	require.NoError(t, err)
	return net.JoinHostPort(net.IP(raw).String(), strconv.FormatUint(port, 10))
}

func addrs(ports []Port) []string {
	var out []string
	for _, p := range ports {
		out = append(out, p.Addr)
	}
	slices.Sort(out)
	return out
}

// TestListensOnlyOnLoopbackAndListsEveryPort is finding 3's last part: the
// server opened kernel-chosen ports, its HTTP API among them, with no
// credentials. Every socket it listens on is on loopback and listed by
// Ports, and by default there is no HTTP API.
func TestListensOnlyOnLoopbackAndListsEveryPort(t *testing.T) {
	before := listeners(t)
	srv, err := Start(Config{Persistence: "sqlite-memory", FrontendPort: 0, UIPort: 0, MetricsAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer srv.Stop()
	names := map[string]bool{}
	for _, p := range srv.Ports() {
		names[p.Name] = true
	}
	require.Equal(t, map[string]bool{"frontend": true, "history": true, "matching": true, "worker": true, "web-ui": true, "metrics": true}, names,
		"no HTTP API by default: %s", PortsString(srv.Ports()))
	// The UI server binds in the background: wait for it.
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", srv.UIAddress())
		if err == nil {
			c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond)
	opened := slices.DeleteFunc(listeners(t), func(a string) bool { return slices.Contains(before, a) })
	require.Equal(t, addrs(srv.Ports()), opened, "every listener is listed, none other")
	for _, a := range opened {
		host, _, _ := net.SplitHostPort(a)
		require.True(t, net.ParseIP(host).IsLoopback(), "%s is not on loopback", a)
	}
}

// TestHTTPAPIOnlyWhenAskedFor: with an HTTP port the frontend serves its
// HTTP API there, listed among the ports.
func TestHTTPAPIOnlyWhenAskedFor(t *testing.T) {
	port, err := freePort("127.0.0.1")
	require.NoError(t, err)
	srv, err := Start(Config{Persistence: "sqlite-memory", FrontendPort: 0, UIPort: -1, HTTPPort: port,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer srv.Stop()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	require.Contains(t, srv.Ports(), Port{"frontend-http", addr})
	require.Eventually(t, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://%s/api/v1/namespaces/default", addr))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "the HTTP API answers")
}

// TestRefusesNonLoopbackAddresses: the server has no authentication, so
// it listens on loopback only.
func TestRefusesNonLoopbackAddresses(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{{IP: "0.0.0.0"}, {IP: "192.0.2.1"}, {MetricsAddr: ":9090"}, {MetricsAddr: "0.0.0.0:9090"}} {
		_, err := Start(cfg)
		require.ErrorContains(t, err, "listens only on loopback", "%+v", cfg)
	}
}
