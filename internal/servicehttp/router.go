package servicehttp

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/apikey"
	"github.com/ordersaga/ordersaga/internal/telemetry"
)

// HandlerFunc serves one route of a service's API: it returns the value to
// answer with 200 as JSON, or an error, answered as a problem (a *Problem
// as it is, a domain error by its code, anything else as a 500).
type HandlerFunc func(r *http.Request) (any, error)

// Router routes requests with net/http's patterns. Routes added with Handle
// require the bearer token, when the Router has one; routes added with Open
// never do (liveness, readiness, metrics). An unknown path answers 404 and
// a known path asked with another method 405 (with Allow), both as
// problems. Add every route before serving; then a Router is safe for
// concurrent use.
type Router struct {
	mux     *http.ServeMux
	tokens  map[string]string // token → caller; empty: no token required
	allowed map[string][]string
	log     *slog.Logger
	traced  http.Handler // mux, traced
}

// probePath reports whether path is a health or metrics probe: not traced.
func probePath(path string) bool {
	return path == "/healthz" || path == "/readyz" || path == "/metrics"
}

// CodeNoRoute is the problem code of a path the service does not serve:
// unlike not_found (no such record), it means the caller is misconfigured.
const CodeNoRoute = "no_route"

// NewRouter returns a Router whose Handle routes require
// "Authorization: Bearer <token>", compared in constant time; none when
// token is empty.
func NewRouter(token string, log *slog.Logger) *Router {
	rt := &Router{mux: http.NewServeMux(), tokens: map[string]string{}, allowed: map[string][]string{}, log: log}
	// Each request is a server span, a child of the caller's traceparent.
	rt.traced = otelhttp.NewHandler(rt.mux, "service", otelhttp.WithPropagators(telemetry.Propagator),
		otelhttp.WithFilter(func(r *http.Request) bool { return !probePath(r.URL.Path) }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "serve " + r.Method }))
	if token != "" {
		rt.tokens[token] = "gateway"
	}
	rt.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteProblem(w, r, NewProblem(http.StatusNotFound, CodeNoRoute, "no such route"))
	})
	return rt
}

// Open adds a route served without the token.
func (rt *Router) Open(method, path string, h http.Handler) {
	rt.add(method, path, h)
}

// Handle adds a route of the service's API, behind the token.
func (rt *Router) Handle(method, path string, h HandlerFunc) {
	rt.add(method, path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !rt.authorized(r) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			WriteProblem(w, r, NewProblem(http.StatusUnauthorized, "unauthorized", "a valid service token is required (Authorization: Bearer <token>)"))
			return
		}
		v, err := h(r)
		if err != nil {
			var p *Problem
			if !errors.As(err, &p) {
				p = ErrorProblem(r, err, rt.log)
			}
			WriteProblem(w, r, p)
			return
		}
		WriteJSON(w, http.StatusOK, v)
	}))
}

func (rt *Router) add(method, path string, h http.Handler) {
	rt.mux.Handle(method+" "+path, h)
	if _, seen := rt.allowed[path]; !seen {
		rt.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", strings.Join(rt.allowed[path], ", "))
			WriteProblem(w, r, NewProblem(http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here"))
		})
	}
	rt.allowed[path] = append(rt.allowed[path], method)
	slices.Sort(rt.allowed[path])
}

func (rt *Router) authorized(r *http.Request) bool {
	if len(rt.tokens) == 0 {
		return true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return false
	}
	_, ok = apikey.Match(token, rt.tokens)
	return ok
}

// ServeHTTP serves r. It never redirects: net/http's ServeMux would answer
// a path with a "." or ".." segment or an empty one (/stock/.., a SKU of
// "..") with a redirect to the cleaned path, which a caller following it
// would ask instead. Such a path answers 400 naming the path value it
// falls on (ordersaga.CheckID), or 404 when it falls on no route.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.EscapedPath(); !isClean(p) {
		WriteProblem(w, r, rt.unclean(p))
		return
	}
	rt.traced.ServeHTTP(w, r)
}

// isClean reports whether ServeMux would serve p as it is (the test of
// its cleanPath, which restores a trailing slash).
func isClean(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c == p
}

// unclean returns the problem of an unclean escaped path p: the route
// whose literal segments p matches names the path value at fault.
func (rt *Router) unclean(p string) *Problem {
	segs := strings.Split(p, "/")
	for pattern := range rt.allowed {
		if ok, err := matchSegments(pattern, segs); ok && err != nil {
			return problemOf(err)
		}
	}
	return NewProblem(http.StatusNotFound, CodeNoRoute, "no such route (a path with '.' or '..' segments, or empty ones, is not followed)")
}

// matchSegments reports whether segs (escaped) match pattern's literal
// segments, and the first wildcard value that is not a valid ID.
func matchSegments(pattern string, segs []string) (bool, error) {
	psegs := strings.Split(pattern, "/")
	if len(psegs) != len(segs) {
		return false, nil
	}
	var bad error
	for i, ps := range psegs {
		v, err := url.PathUnescape(segs[i])
		if err != nil {
			v = segs[i]
		}
		name, wild := strings.CutPrefix(ps, "{")
		switch {
		case !wild && v != ps:
			return false, nil
		case wild && bad == nil:
			bad = ordersaga.CheckID(strings.TrimSuffix(name, "}"), v)
		}
	}
	return true, bad
}

// problemOf returns the problem of a validation error.
func problemOf(err error) *Problem {
	var e *ordersaga.Error
	if !errors.As(err, &e) {
		return NewProblem(http.StatusBadRequest, ordersaga.EINVALID, err.Error())
	}
	p := NewProblem(Status(e.Code), e.Code, e.Message)
	p.Field = e.Field
	return p
}

// Lookup returns a handler answering get of the path value name, checked
// to be an ID or SKU first (PathID).
func Lookup[T any](name string, get func(ctx context.Context, id string) (T, error)) HandlerFunc {
	return func(r *http.Request) (any, error) {
		id, err := PathID(r, name)
		if err != nil {
			return nil, err
		}
		return get(r.Context(), id)
	}
}

// PathID returns the path value name once it is a valid ID or SKU
// (ordersaga.CheckID); an EINVALID error naming it otherwise.
func PathID(r *http.Request, name string) (string, error) {
	v := r.PathValue(name)
	return v, ordersaga.CheckID(name, v)
}

func (p *Problem) Error() string { return p.Detail }
