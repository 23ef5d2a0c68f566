package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/internal/events"
)

var (
	orderCreate  = script("order_create")
	orderReject  = script("order_reject")
	orderConfirm = script("order_confirm")
	orderResolve = script("order_resolve")
)

// Orders is the order service's store. Keys: <ks>order:<id> (hash),
// <ks>barrier:<saga step key>, <ks>resolution:<saga step key> (an
// operator's resolution of that step's compensation) and the outbox stream
// <ks>outbox.
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
	ev, err := newEvent(events.SourceOrder, events.OrderCreated, key, o.ID,
		map[string]any{"order_id": o.ID, "customer_id": o.CustomerID, "items": o.Items})
	if err != nil {
		return err
	}
	res, err := orderCreate.Run(ctx, s.rdb, []string{s.ks.key("barrier", key), s.ks.key("order", o.ID), s.ks.Outbox()},
		o.ID, o.CustomerID, items, ev).Text()
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
	ev, err := newEvent(events.SourceOrder, events.OrderCancelled, key, orderID, map[string]any{"order_id": orderID, "reason": reason})
	if err != nil {
		return err
	}
	err = orderReject.Run(ctx, s.rdb, []string{s.ks.key("barrier", key), s.ks.key("order", orderID), s.ks.Outbox()}, reason, ev).Err()
	if err != nil {
		return scriptError("reject order", err)
	}
	return nil
}

// Confirm implements activities.OrderStore.
func (s *Orders) Confirm(ctx context.Context, key, orderID string, totalCents int64, chargeID string) error {
	ev, err := newEvent(events.SourceOrder, events.OrderConfirmed, key, orderID,
		map[string]any{"order_id": orderID, "total_cents": totalCents, "charge_id": chargeID})
	if err != nil {
		return err
	}
	err = orderConfirm.Run(ctx, s.rdb, []string{s.ks.key("order", orderID), s.ks.Outbox()}, totalCents, chargeID, ev).Err()
	if err != nil {
		return scriptError("confirm order", err)
	}
	return nil
}

// RecordResolution implements activities.OrderStore.
func (s *Orders) RecordResolution(ctx context.Context, in activities.ResolutionInput) error {
	rec, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("record resolution: %w", err)
	}
	ev, err := newEvent(events.SourceOrder, events.CompensationResolved, in.Key, in.OrderID, map[string]any{
		"order_id": in.OrderID, "step": in.Step, "by": in.By, "at": in.At, "reason": in.Reason})
	if err != nil {
		return err
	}
	if err := orderResolve.Run(ctx, s.rdb, []string{s.ks.key("resolution", in.Key), s.ks.Outbox()}, rec, ev).Err(); err != nil {
		return scriptError("record resolution", err)
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
