package inventory

import (
	"context"
	"log/slog"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
)

// Client is the gateway's client of the inventory service's API (see
// servicehttp.Client for its timeouts, retry, breaker and errors).
type Client struct{ c *servicehttp.Client }

// NewClient returns a client of the inventory service's API at
// cfg.BaseURL.
func NewClient(cfg servicehttp.ClientConfig, log *slog.Logger) (*Client, error) {
	cfg.Service = "inventory"
	c, err := servicehttp.NewClient(cfg, log)
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Get returns a SKU's stock; ENOTFOUND if unknown.
func (c *Client) Get(ctx context.Context, sku string) (ordersaga.Stock, error) {
	return servicehttp.Get[ordersaga.Stock](ctx, c.c, "/stock/"+servicehttp.PathSegment(sku))
}

// Put sets a SKU's available units and price and returns its stock. It is
// sent once: a failed Put may or may not have been applied.
func (c *Client) Put(ctx context.Context, sku string, available, priceCents int64) (ordersaga.Stock, error) {
	var st ordersaga.Stock
	err := c.c.Put(ctx, "/stock/"+servicehttp.PathSegment(sku), StockUpdate{Available: &available, PriceCents: &priceCents}, &st)
	return st, err
}

// Reservation returns orderID's reservation; ENOTFOUND while it has none.
func (c *Client) Reservation(ctx context.Context, orderID string) (ordersaga.Reservation, error) {
	return servicehttp.Get[ordersaga.Reservation](ctx, c.c, "/reservations/"+servicehttp.PathSegment(orderID))
}
