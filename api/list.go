package api

import (
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/workflows"
	"github.com/ordersaga/ordersaga/workflows/sagaclient"
)

// Page sizes of GET /v1/orders.
const (
	defaultPageSize = 20
	maxPageSize     = 100
)

// OrderList answers GET /v1/orders: a page of orders, newest first, and the
// token of the next page (absent on the last).
type OrderList struct {
	Orders        []sagaclient.Summary `json:"orders"`
	NextPageToken string               `json:"next_page_token,omitempty"`
}

// listParams are the query parameters GET /v1/orders takes.
var listParams = []string{"customer_id", "status", "page_size", "page_token"}

// tokenPattern is the shape of a page token: base64url, bounded.
var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// listOrders lists the orders the principal may read: a client its own,
// approvers and admins every client's.
func (s *server) listOrders(c *gin.Context) {
	f, size, token, err := parseList(c.Request.URL.Query())
	if err != nil {
		s.fail(c, err)
		return
	}
	if who := principal(c); !who.Role.Can(ScopeOrdersReadAll) {
		f.ClientID = who.Name
	}
	page, err := s.deps.Sagas.List(c.Request.Context(), f, size, token)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := OrderList{Orders: page.Orders, NextPageToken: page.Next}
	if out.Orders == nil {
		out.Orders = []sagaclient.Summary{}
	}
	c.JSON(http.StatusOK, out)
}

// parseList validates GET /v1/orders' query: every parameter known and
// given at most once, each value well-formed. It reports every invalid
// parameter.
func parseList(q url.Values) (f sagaclient.Filter, size int, token string, err error) {
	var v validation
	for _, name := range slices.Sorted(maps.Keys(q)) {
		values := q[name]
		switch {
		case !slices.Contains(listParams, name):
			v.add(name, "unknown query parameter %q (known: %s)", name, strings.Join(listParams, ", "))
		case len(values) > 1:
			v.add(name, "%s may be given once", name)
		case values[0] == "":
			v.add(name, "%s must not be empty", name)
		}
	}
	if id := q.Get("customer_id"); id != "" {
		v.id("customer_id", id)
		f.CustomerID = id
	}
	if st := workflows.Status(q.Get("status")); st != "" {
		if !slices.Contains(workflows.Statuses(), st) {
			v.add("status", "status must be one of %s", joinStatuses())
		}
		f.Status = st
	}
	size = defaultPageSize
	if raw := q.Get("page_size"); raw != "" {
		n, perr := strconv.Atoi(raw)
		if perr != nil {
			v.add("page_size", "page_size must be a whole number between 1 and %d", maxPageSize)
		} else {
			v.intRange("page_size", int64(n), 1, maxPageSize)
			size = n
		}
	}
	if token = q.Get("page_token"); token != "" && !tokenPattern.MatchString(token) {
		v.add("page_token", "page_token is not a token this API returned")
	}
	return f, size, token, v.problem()
}

func joinStatuses() string {
	var names []string
	for _, st := range workflows.Statuses() {
		names = append(names, string(st))
	}
	return strings.Join(names, ", ")
}
