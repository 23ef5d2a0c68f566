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
	r.Handle(http.MethodGet, "/orders/{id}", func(req *http.Request) (any, error) {
		id, err := servicehttp.PathID(req, "id")
		if err != nil {
			return nil, err
		}
		return s.Get(req.Context(), id)
	})
}
