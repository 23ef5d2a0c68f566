package order

import (
	"context"
	"log/slog"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
)

// Client is the gateway's client of the order service's API (see
// servicehttp.Client for its timeouts, retry, breaker and errors).
type Client struct{ c *servicehttp.Client }

// NewClient returns a client of the order service's API at cfg.BaseURL.
func NewClient(cfg servicehttp.ClientConfig, log *slog.Logger) (*Client, error) {
	cfg.Service = "order"
	c, err := servicehttp.NewClient(cfg, log)
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Order returns the order service's record of orderID; ENOTFOUND while it
// has none.
func (c *Client) Order(ctx context.Context, orderID string) (ordersaga.Order, error) {
	return servicehttp.Get[ordersaga.Order](ctx, c.c, "/orders/"+servicehttp.PathSegment(orderID))
}
