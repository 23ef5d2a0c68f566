package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga"
)

// PutStockRequest is the body of PUT /v1/inventory/{sku}. Both fields are
// required.
type PutStockRequest struct {
	Available  *int64 `json:"available"`
	PriceCents *int64 `json:"price_cents"`
}

// Validate reports every invalid field.
func (r PutStockRequest) Validate() error {
	var v validation
	if r.Available == nil {
		v.add("available", "available is required")
	} else {
		v.intRange("available", *r.Available, 0, ordersaga.MaxUnits)
	}
	if r.PriceCents == nil {
		v.add("price_cents", "price_cents is required")
	} else {
		v.intRange("price_cents", *r.PriceCents, 0, ordersaga.MaxPriceCents)
	}
	return v.problem()
}

func (s *server) putStock(c *gin.Context) {
	sku, ok := s.param(c, "sku")
	if !ok {
		return
	}
	var req PutStockRequest
	if !s.bind(c, &req) {
		return
	}
	st, err := s.deps.Stock.Put(c.Request.Context(), sku, *req.Available, *req.PriceCents)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}

func (s *server) getStock(c *gin.Context) {
	sku, ok := s.param(c, "sku")
	if !ok {
		return
	}
	st, err := s.deps.Stock.Get(c.Request.Context(), sku)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, st)
}
