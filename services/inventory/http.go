package inventory

import (
	"errors"
	"net/http"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
)

// StockUpdate is the body of PUT /stock/{sku}. Both fields are required.
type StockUpdate struct {
	Available  *int64 `json:"available"`
	PriceCents *int64 `json:"price_cents"`
}

// validate reports every missing or out-of-range field (the first names
// the error's field).
func (u StockUpdate) validate() error {
	var errs []error
	check := func(field string, v *int64, hi int64) {
		switch {
		case v == nil:
			errs = append(errs, ordersaga.Invalid(field, "%s is required", field))
		case *v < 0 || *v > hi:
			errs = append(errs, ordersaga.Invalid(field, "%s must be between 0 and %d, got %d", field, hi, *v))
		}
	}
	check("available", u.Available, ordersaga.MaxUnits)
	check("price_cents", u.PriceCents, ordersaga.MaxPriceCents)
	return errors.Join(errs...)
}

// maxBody bounds a request body.
const maxBody = 4 << 10

// Register adds the inventory service's API to r:
//
//	GET /stock/{sku}                a SKU's stock (ordersaga.Stock); 404 if unknown
//	PUT /stock/{sku}                set its available units and price (a StockUpdate),
//	                                announced as inventory.restocked; answers the stock
//	GET /reservations/{order_id}    the order's reservation (ordersaga.Reservation);
//	                                404 while it has none
func Register(r *servicehttp.Router, s *Store) {
	r.Handle(http.MethodGet, "/stock/{sku}", servicehttp.Lookup("sku", s.Get))
	r.Handle(http.MethodPut, "/stock/{sku}", func(req *http.Request) (any, error) {
		sku, err := servicehttp.PathID(req, "sku")
		if err != nil {
			return nil, err
		}
		var u StockUpdate
		if err := servicehttp.DecodeJSON(req, &u, maxBody); err != nil {
			return nil, err
		}
		if err := u.validate(); err != nil {
			return nil, err
		}
		return s.Put(req.Context(), sku, *u.Available, *u.PriceCents)
	})
	r.Handle(http.MethodGet, "/reservations/{order_id}", servicehttp.Lookup("order_id", s.Reservation))
}
