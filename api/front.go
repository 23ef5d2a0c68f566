package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Upstreams: who answered a request (the upstream label of the request
// metrics and the upstream attribute of the request log line).
const (
	UpstreamOrdersaga = "ordersaga"
	UpstreamLegacy    = "legacy"
	// UpstreamShadow is an ordersaga call a shadow route makes to compare
	// its answer with the monolith's: answered by ordersaga, not rate
	// limited (the client's request was), its answer never sent.
	UpstreamShadow = "shadow"
)

// Front is the route table of the gateway standing in front of a monolith
// (the strangler fig, docs/migrating.md): per request, whether ordersaga
// answers it or the monolith does. Implementations must be safe for
// concurrent use.
type Front interface {
	// Route says where r goes. A zero FrontRoute (Name "") leaves r to
	// ordersaga's own routes, untouched.
	Route(r *http.Request) FrontRoute
	// Serve answers r, which Route sent to UpstreamLegacy, on behalf of
	// principal ("" when the route passes the client's Authorization
	// through). self is the gateway, for the calls a shadow route makes to
	// ordersaga. Serve writes every answer, problems included.
	Serve(w http.ResponseWriter, r *http.Request, route FrontRoute, principal string, self http.Handler)
}

// FrontRoute is where Front sends a request.
type FrontRoute struct {
	// Name names the matched route (its prefix): the route label of the
	// request metrics. "" when no route matched.
	Name string
	// Upstream is UpstreamLegacy (Front.Serve answers), UpstreamOrdersaga
	// or UpstreamShadow (ordersaga's own routes answer).
	Upstream string
	// PassAuthorization: the gateway checks no API key; the client's
	// Authorization goes to the monolith.
	PassAuthorization bool
	// Ref is the Front's own reference to its route, for Serve.
	Ref any
}

const frontRouteKey = "ordersaga.front_route"

// front sends the requests the route table gives the monolith to it, after
// the gateway's authentication (unless the route passes it through) and the
// client's rate limits; the others go on to ordersaga's routes. It runs
// before the request timeout: a proxied request is bounded by the proxy's
// own timeouts.
func (s *server) front(self http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		route := s.deps.Front.Route(c.Request)
		if route.Name == "" {
			c.Next()
			return
		}
		c.Set(frontRouteKey, route)
		if route.Upstream != UpstreamLegacy {
			c.Next()
			return
		}
		if !route.PassAuthorization && !s.identify(c) {
			return
		}
		if !s.allow(c) {
			return
		}
		who := ""
		if !route.PassAuthorization {
			who = principal(c).Name
		}
		s.deps.Front.Serve(c.Writer, c.Request, route, who, self)
		c.Abort()
	}
}

// frontRoute returns the route the Front matched, if any.
func frontRoute(c *gin.Context) (FrontRoute, bool) {
	v, ok := c.Get(frontRouteKey)
	if !ok {
		return FrontRoute{}, false
	}
	return v.(FrontRoute), true
}
