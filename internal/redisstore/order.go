package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/activities"
)

var (
	orderCreate  = script("order_create")
	orderReject  = script("order_reject")
	orderConfirm = script("order_confirm")
)

// Orders is the order service's store. Keys: <ks>order:<id> (hash) and
// <ks>barrier:<saga step key>.
type Orders struct {
	rdb redis.Cmdable
	ks  Keyspace
}

var _ activities.OrderStore = (*Orders)(nil)

// NewOrders returns the order store in keyspace ks of rdb.
func NewOrders(rdb redis.Cmdable, ks Keyspace) *Orders { return &Orders{rdb: rdb, ks: ks} }

// Create implements activities.OrderStore.
func (s *Orders) Create(ctx context.Context, key string, o ordersaga.Order) error {
	items, err := json.Marshal(o.Items)
	if err != nil {
		return fmt.Errorf("create order: %w", err)
	}
	res, err := orderCreate.Run(ctx, s.rdb, []string{s.ks.key("barrier", key), s.ks.key("order", o.ID)},
		o.ID, o.CustomerID, items).Text()
	if err != nil {
		return scriptError("create order", err)
	}
	if res == "compensated" {
		return fmt.Errorf("create order %s: %w", o.ID, ordersaga.ErrCompensated)
	}
	return nil
}

// Reject implements activities.OrderStore.
func (s *Orders) Reject(ctx context.Context, key, orderID, reason string) error {
	err := orderReject.Run(ctx, s.rdb, []string{s.ks.key("barrier", key), s.ks.key("order", orderID)}, reason).Err()
	if err != nil {
		return scriptError("reject order", err)
	}
	return nil
}

// Confirm implements activities.OrderStore.
func (s *Orders) Confirm(ctx context.Context, orderID string, totalCents int64, chargeID string) error {
	err := orderConfirm.Run(ctx, s.rdb, []string{s.ks.key("order", orderID)}, totalCents, chargeID).Err()
	if err != nil {
		return scriptError("confirm order", err)
	}
	return nil
}

// Get returns the order service's record of orderID, or an ENOTFOUND error.
func (s *Orders) Get(ctx context.Context, orderID string) (ordersaga.Order, error) {
	h, err := s.rdb.HGetAll(ctx, s.ks.key("order", orderID)).Result()
	if err != nil {
		return ordersaga.Order{}, fmt.Errorf("get order: %w", err)
	}
	if len(h) == 0 {
		return ordersaga.Order{}, ordersaga.Errorf(ordersaga.ENOTFOUND, "order %s not found", orderID)
	}
	o := ordersaga.Order{ID: h["id"], CustomerID: h["customer_id"], Status: ordersaga.OrderStatus(h["status"]),
		ChargeID: h["charge_id"], Reason: h["reason"]}
	o.TotalCents, _ = strconv.ParseInt(h["total_cents"], 10, 64)
	if err := json.Unmarshal([]byte(h["items"]), &o.Items); err != nil {
		return ordersaga.Order{}, fmt.Errorf("get order %s: decode items: %w", orderID, err)
	}
	return o, nil
}
