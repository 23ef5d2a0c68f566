// Package strangler puts the gateway in front of a monolith, the strangler
// fig way: a route table (a YAML routes file, reloadable) says for each path
// prefix whether the monolith answers (legacy), ordersaga does (ordersaga),
// the monolith answers while ordersaga is asked the same and compared
// (shadow), or a sticky share goes to ordersaga (canary). Paths no route
// matches are ordersaga's.
//
// Requests to the monolith go through httputil.ReverseProxy with dial,
// response-header and idle timeouts and a circuit breaker; a monolith that
// does not answer gets a problem+json (502 legacy_unavailable, 504
// legacy_timeout, 503 legacy_circuit_open with Retry-After), and
// ordersaga's own routes keep answering. A *Strangler is an api.Front.
package strangler

import (
	"crypto/sha256"
	"encoding/binary"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ordersaga/ordersaga/api"
)

// Config tunes a Strangler. The zero value is usable.
type Config struct {
	// DialTimeout bounds connecting to the monolith, TLS included
	// (default 2s).
	DialTimeout time.Duration
	// ResponseTimeout bounds the wait for the monolith's response headers
	// (default 10s).
	ResponseTimeout time.Duration
	// IdleTimeout closes a keep-alive connection to the monolith idle this
	// long (default 90s).
	IdleTimeout time.Duration
	// BreakerFailures consecutive failures (no answer; 502, 503 or 504)
	// open the circuit (default 5).
	BreakerFailures uint32
	// BreakerOpen is how long the circuit stays open before a trial call
	// (default 5s).
	BreakerOpen time.Duration
	// ShadowTimeout bounds a shadow call to ordersaga (default 5s).
	ShadowTimeout time.Duration
	// ShadowInFlight bounds the shadow calls in flight; past it a shadow
	// route skips the comparison (default 16).
	ShadowInFlight int
	// Metrics, if set, records the strangler's metrics.
	Metrics *Metrics
}

func (c *Config) setDefaults() {
	c.DialTimeout = orDuration(c.DialTimeout, 2*time.Second)
	c.ResponseTimeout = orDuration(c.ResponseTimeout, 10*time.Second)
	c.IdleTimeout = orDuration(c.IdleTimeout, 90*time.Second)
	c.BreakerOpen = orDuration(c.BreakerOpen, 5*time.Second)
	c.ShadowTimeout = orDuration(c.ShadowTimeout, 5*time.Second)
	if c.BreakerFailures == 0 {
		c.BreakerFailures = 5
	}
	if c.ShadowInFlight <= 0 {
		c.ShadowInFlight = 16
	}
}

func orDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Strangler is the gateway's route table in front of a monolith. It is
// safe for concurrent use; Reload swaps the table atomically.
type Strangler struct {
	cfg     Config
	log     *slog.Logger
	current atomic.Pointer[state]
	shadows chan struct{} // a slot per shadow call in flight
}

var _ api.Front = (*Strangler)(nil)

// state is a table and the proxy to its monolith.
type state struct {
	table *Table
	proxy *proxy
}

// routeRef is a FrontRoute's reference: the route and the state it was
// matched in, so a reload between Route and Serve changes nothing.
type routeRef struct {
	route Route
	state *state
}

// New returns a Strangler serving t.
func New(cfg Config, t *Table, log *slog.Logger) *Strangler {
	cfg.setDefaults()
	s := &Strangler{cfg: cfg, log: log, shadows: make(chan struct{}, cfg.ShadowInFlight)}
	s.current.Store(s.state(t, nil))
	return s
}

// state returns t's state, keeping prev's proxy (its connections and its
// circuit) when the monolith's URL is the same.
func (s *Strangler) state(t *Table, prev *state) *state {
	st := &state{table: t}
	switch {
	case t.legacy == nil:
	case prev != nil && prev.proxy != nil && prev.table.legacy.String() == t.legacy.String():
		st.proxy = prev.proxy
	default:
		st.proxy = newProxy(t.legacy, s.cfg, s.log)
	}
	return st
}

// Table returns the table in force.
func (s *Strangler) Table() *Table { return s.current.Load().table }

// Reload reads the routes file at path and puts it in force. A file that
// does not load is refused, logged, and the table in force is kept.
func (s *Strangler) Reload(path string) error {
	t, err := LoadFile(path)
	if err != nil {
		s.cfg.Metrics.reloaded(false)
		s.log.Error("routes file refused: keeping the routes in force", "error", err)
		return err
	}
	prev := s.current.Load()
	s.current.Store(s.state(t, prev))
	s.cfg.Metrics.reloaded(true)
	s.log.Info("routes file reloaded", "file", path, "routes", len(t.routes))
	return nil
}

// reserved are the gateway's own endpoints: no route takes them.
func reserved(p string) bool {
	switch p {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return false
}

// Route says where r goes (see api.Front).
func (s *Strangler) Route(r *http.Request) api.FrontRoute {
	if name, ok := shadowOf(r.Context()); ok {
		return api.FrontRoute{Name: name, Upstream: api.UpstreamShadow}
	}
	if reserved(r.URL.Path) {
		return api.FrontRoute{}
	}
	st := s.current.Load()
	route, ok := st.table.Match(r.URL.Path)
	if !ok {
		return api.FrontRoute{}
	}
	fr := api.FrontRoute{Name: route.Prefix, Upstream: api.UpstreamLegacy, PassAuthorization: route.Auth == AuthPassthrough,
		Ref: &routeRef{route: route, state: st}}
	switch {
	case route.To == Ordersaga, route.To == Canary && bucket(r) < route.Percent:
		fr.Upstream, fr.PassAuthorization = api.UpstreamOrdersaga, false
	}
	return fr
}

// bucket is r's sticky canary bucket, 0 to 99: by its Idempotency-Key,
// else its credential (each client's key), else its peer address.
func bucket(r *http.Request) int {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		key = r.Header.Get("Authorization")
	}
	if key == "" {
		key, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	sum := sha256.Sum256([]byte(key))
	return int(binary.BigEndian.Uint64(sum[:8]) % 100)
}

// Serve answers a legacy-bound request (see api.Front): the monolith
// answers, and on a shadow route a GET or HEAD is also asked of self and
// the answers compared, after the client has its answer.
func (s *Strangler) Serve(w http.ResponseWriter, r *http.Request, fr api.FrontRoute, principal string, self http.Handler) {
	ref, ok := fr.Ref.(*routeRef)
	if !ok || ref.state.proxy == nil {
		writeProblem(w, r, http.StatusInternalServerError, "internal", "no route to the monolith")
		return
	}
	if !clean(r.URL.Path) {
		writeProblem(w, r, http.StatusBadRequest, CodePathNotClean, "the path has dot segments or empty segments")
		return
	}
	var sh *shadowCall
	if ref.route.To == Shadow && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		sh = s.startShadow(r, ref.route, self, w.Header().Get("X-Request-ID"))
	}
	out := r.Clone(r.Context())
	out.Header.Set("X-Request-ID", w.Header().Get("X-Request-ID"))
	h := ref.state.table.principalHeader
	out.Header.Del(h)
	if !fr.PassAuthorization {
		out.Header.Del("Authorization")
		out.Header.Set(h, principal)
	}
	ref.state.proxy.ServeHTTP(sh.wrap(w), out)
	sh.legacyDone()
}

// clean reports whether p has no dot segments and no empty segments (a
// trailing slash is fine).
func clean(p string) bool {
	trimmed := strings.TrimSuffix(p, "/")
	return trimmed == "" || path.Clean(trimmed) == trimmed && !strings.Contains(p, "//")
}
