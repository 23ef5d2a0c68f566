package payment

import (
	"context"
	"log/slog"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
)

// Client is the gateway's client of the payment service's API (see
// servicehttp.Client for its timeouts, retry, breaker and errors).
type Client struct{ c *servicehttp.Client }

// NewClient returns a client of the payment service's API at cfg.BaseURL.
func NewClient(cfg servicehttp.ClientConfig, log *slog.Logger) (*Client, error) {
	cfg.Service = "payment"
	c, err := servicehttp.NewClient(cfg, log)
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Payment returns orderID's payment; ENOTFOUND while it has none.
func (c *Client) Payment(ctx context.Context, orderID string) (ordersaga.Payment, error) {
	return servicehttp.Get[ordersaga.Payment](ctx, c.c, "/payments/"+servicehttp.PathSegment(orderID))
}
