package payment

import (
	"net/http"

	"github.com/ordersaga/ordersaga/internal/servicehttp"
)

// Register adds the payment service's API to r:
//
//	GET /payments/{order_id}  the order's payment (ordersaga.Payment); 404
//	                          while it has none (before the charge step)
func Register(r *servicehttp.Router, s *Store) {
	r.Handle(http.MethodGet, "/payments/{order_id}", servicehttp.Lookup("order_id", s.Payment))
}
