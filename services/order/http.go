package order

import (
	"net/http"

	"github.com/ordersaga/ordersaga/internal/servicehttp"
)

// Register adds the order service's API to r:
//
//	GET /orders/{id}  the order's record (ordersaga.Order); 404 while the
//	                  service has none (before create_order ran)
func Register(r *servicehttp.Router, s *Store) {
	r.Handle(http.MethodGet, "/orders/{id}", servicehttp.Lookup("id", s.Get))
}
