// Package api is the gateway, the product's one public HTTP API (Gin,
// JSON; openapi.yaml is its contract): it starts, reads, lists, approves and
// cancels sagas, composes an order's view from the saga and the services'
// APIs (and survives a failing service), and fronts the inventory service's
// catalog. It reaches the sagas through workflows/sagaclient and the
// services through the small interfaces of Deps (their clients live in
// services/<name>). Errors are RFC 9457 problem+json documents, mapped from
// domain error codes in one place (problem.go).
package api

import (
	"context"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
	"github.com/ordersaga/ordersaga/internal/ttlcache"
	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// Sagas is what the API needs of the saga orchestrator.
type Sagas interface {
	// Start starts the saga of in.OrderID, recording in.ClientID as the
	// client that placed it; ECONFLICT if it exists.
	Start(ctx context.Context, in workflows.Input) error
	// State returns the saga's live state; ENOTFOUND if unknown.
	State(ctx context.Context, orderID string) (workflows.State, error)
	// Owner returns the name of the client that placed orderID ("" for a
	// saga started without one); ENOTFOUND if unknown.
	Owner(ctx context.Context, orderID string) (string, error)
	// List returns up to size of the sagas f selects, newest first by start
	// time, from the position token names ("" for the first page); each
	// saga once across a listing's pages. A token it did not return is
	// EINVALID naming page_token.
	List(ctx context.Context, f sagaclient.Filter, size int, token string) (sagaclient.Page, error)
	// Update sends the saga's update name with args and waits until the
	// saga has applied it. Updates with the same non-empty updateID are
	// applied once. ECONFLICT when the saga refuses it (its reason is the
	// message), ENOTFOUND for an unknown order.
	Update(ctx context.Context, orderID, updateID, name string, args ...any) error
}

// Stock is what the API needs of the inventory service's catalog. Errors
// are domain errors (EUNAVAILABLE when the service cannot be reached).
type Stock interface {
	// Get returns a SKU's stock; ENOTFOUND if unknown.
	Get(ctx context.Context, sku string) (ordersaga.Stock, error)
	// Put sets a SKU's available units and price.
	Put(ctx context.Context, sku string, available, priceCents int64) (ordersaga.Stock, error)
}

// Orders is what the gateway needs of the order service.
type Orders interface {
	// Order returns the order service's record of orderID; ENOTFOUND while
	// it has none, any other error when it cannot be had.
	Order(ctx context.Context, orderID string) (ordersaga.Order, error)
}

// Reservations is what the gateway needs of the inventory service's
// reservations.
type Reservations interface {
	// Reservation returns orderID's reservation; ENOTFOUND while it has
	// none, any other error when it cannot be had.
	Reservation(ctx context.Context, orderID string) (ordersaga.Reservation, error)
}

// Payments is what the gateway needs of the payment service.
type Payments interface {
	// Payment returns orderID's payment; ENOTFOUND while it has none, any
	// other error when it cannot be had.
	Payment(ctx context.Context, orderID string) (ordersaga.Payment, error)
}

// Timeline is what the API needs of the order timeline projection.
type Timeline interface {
	// Events returns an order's events in order; none for an unknown order.
	Events(ctx context.Context, orderID string) ([]events.Event, error)
}

// Check is one readiness check: a dependency that must answer.
type Check = servicehttp.Check

// Config configures the API.
type Config struct {
	// MaxBodyBytes limits request bodies (default 64 KiB).
	MaxBodyBytes int64
	// RequestTimeout bounds each request's calls to dependencies
	// (default 10s); past it the API answers 503.
	RequestTimeout time.Duration
	// Auth is the optional API-key access control.
	Auth Auth
	// Admission bounds how far behind the sagas may be when a new order
	// comes (with Deps.Backlog).
	Admission Admission
	// Limits are each client's request quotas (with Deps.Limiter).
	Limits RateLimits
	// MaxAwaitingApproval bounds each client's orders awaiting approval
	// (with Deps.Approvals): at it, new orders are refused 429
	// too_many_awaiting_approval. 0: no bound.
	MaxAwaitingApproval int64
}

func (c *Config) setDefaults() {
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 64 << 10
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 10 * time.Second
	}
}

// Deps are the API's dependencies; all but Idempotency, Backlog, Limiter,
// Shares, Approvals, Checks and Metrics are required.
type Deps struct {
	Sagas Sagas
	// Stock, Orders, Reservations and Payments are the services' APIs.
	Stock        Stock
	Orders       Orders
	Reservations Reservations
	Payments     Payments
	Timeline     Timeline
	// Idempotency, if set, honours Idempotency-Key on the order writes.
	Idempotency Idempotency
	// Backlog, if set, is how far behind the sagas are: new orders are
	// refused (429) past Config.Admission's bound.
	Backlog Backlog
	// Limiter, if set, enforces Config.Limits.
	Limiter Limiter
	// Shares, if set, lets admission control shed the clients above their
	// fair share first.
	Shares Shares
	// Approvals, if set, counts each client's orders awaiting approval for
	// Config.MaxAwaitingApproval.
	Approvals Approvals
	Checks    []Check
	// Metrics, if set, is served at GET /metrics.
	Metrics http.Handler
	// RequestMetrics, if set, counts and times the requests.
	RequestMetrics *RequestMetrics
	Log            *slog.Logger
}

type server struct {
	cfg  Config
	deps Deps
	// audit writes the audit trail: deps.Log's handler, at Info whatever
	// its level.
	audit *slog.Logger
	// views keeps finished orders' parts (see getOrder).
	views *ttlcache.Cache[string, finishedView]
	// limiterFailing and sharesFailing are set while the rate limiter's
	// or the fair shares' store fails (logged once until it answers).
	limiterFailing, sharesFailing atomic.Bool
}

func init() { gin.SetMode(gin.ReleaseMode) }

// New returns the API's HTTP handler. Every route is declared here.
func New(cfg Config, deps Deps) http.Handler {
	cfg.setDefaults()
	s := &server{cfg: cfg, deps: deps, views: ttlcache.New[string, finishedView](finishedViewsSize, sagaclient.FinishedTTL),
		audit: slog.New(auditHandler{deps.Log.Handler()})}
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// A path with a trailing slash is not a route: a 404 problem (with the
	// request ID, as the contract says of every answer), not a redirect
	// that skips the middleware.
	r.RedirectTrailingSlash = false
	r.Use(s.observe()...)
	r.Use(s.recover, s.timeout)
	r.NoRoute(func(c *gin.Context) { s.problem(c, statusProblem(http.StatusNotFound, "no such route")) })
	r.NoMethod(func(c *gin.Context) {
		s.problem(c, statusProblem(http.StatusMethodNotAllowed, "method not allowed here"))
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.ready)
	if deps.Metrics != nil {
		r.GET("/metrics", gin.WrapH(deps.Metrics))
	}
	routeDocs(r)

	v1 := r.Group("/v1", s.authenticate, s.limit)
	v1.POST("/orders", s.require(ScopeOrdersCreate), s.admit, s.approvalQuota, s.idempotent, s.createOrder)
	v1.GET("/orders", s.require(ScopeOrdersRead), s.listOrders)
	v1.GET("/orders/:id", s.require(ScopeOrdersRead), s.getOrder)
	v1.GET("/orders/:id/events", s.require(ScopeOrdersRead), s.getOrderEvents)
	v1.POST("/orders/:id/approve", s.require(ScopeOrdersApprove), s.idempotent, s.approveOrder)
	v1.POST("/orders/:id/cancel", s.require(ScopeOrdersCancel), s.idempotent, s.cancelOrder)
	v1.POST("/orders/:id/compensations/:step/retry", s.require(ScopeOperator), s.idempotent, s.retryCompensation)
	v1.POST("/orders/:id/compensations/:step/resolve", s.require(ScopeOperator), s.idempotent, s.resolveCompensation)
	v1.PUT("/inventory/:sku", s.require(ScopeInventoryWrite), s.putStock)
	v1.GET("/inventory/:sku", s.require(ScopeInventoryRead), s.getStock)
	return r
}

func (s *server) timeout(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.requestTimeout(c))
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

func (s *server) recover(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			s.deps.Log.Error("panic serving request", "path", c.Request.URL.Path, "request_id", requestID(c), "panic", v)
			s.problem(c, statusProblem(http.StatusInternalServerError, "internal error"))
		}
	}()
	c.Next()
}

// ready answers readiness: Temporal and the API's own Redis. The services
// are not checked: the gateway answers without them (partial order views,
// 503 on the inventory endpoints). With admission control it also names
// the services without workers ("workers", and status "degraded"). The API's port is public and the probe
// needs no key, so a failing check is named, not described: its error
// (addresses, the dependency's words) goes to the log.
func (s *server) ready(c *gin.Context) {
	checks, ok := servicehttp.RunChecks(c.Request.Context(), s.deps.Checks)
	for name, result := range checks {
		if result != "ok" {
			s.deps.Log.WarnContext(c.Request.Context(), "readiness check failed", "check", name, "error", result)
			checks[name] = "failing"
		}
	}
	if !ok {
		p := statusProblem(http.StatusServiceUnavailable, "a dependency is not reachable")
		p.Checks = checks
		s.problem(c, p)
		return
	}
	out := gin.H{"status": "ready", "checks": checks}
	if workers, missing := s.workers(); workers != nil {
		out["workers"] = workers
		if missing {
			out["status"] = "degraded"
		}
	}
	c.JSON(http.StatusOK, out)
}

// workers names each service's workers "ok" or "missing", as admission
// control last sampled them (nil when unknown), and reports whether any
// is missing. A missing service does not make the API unready: it still
// accepts orders, which wait for the service (see admit).
func (s *server) workers() (map[string]string, bool) {
	if s.deps.Backlog == nil {
		return nil, false
	}
	services, ok := s.deps.Backlog.Services()
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	anyMissing := false
	for _, st := range services {
		out[st.Service] = "ok"
		if st.Missing {
			out[st.Service], anyMissing = "missing", true
		}
	}
	return out, anyMissing
}
