// Package order is the order service: it alone owns the orders and their
// audit of operator resolutions, in its own Redis keyspace (order:). It holds
// the store and its Lua scripts (every change appends its event to the
// service's outbox in the same script), the service's HTTP API, and the
// client the gateway calls it with.
package order

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/internal/redislua"
)

//go:embed lua/*.lua
var luaFS embed.FS

var (
	orderCreate  = redislua.Script(luaFS, "create")
	orderReject  = redislua.Script(luaFS, "reject")
	orderConfirm = redislua.Script(luaFS, "confirm")
	orderResolve = redislua.Script(luaFS, "resolve")
)

// Store is the order service's store. Keys: <ks>order:<id> (hash),
// <ks>barrier:<saga step key>, <ks>resolution:<saga step key> (an
// operator's resolution of that step's compensation) and the outbox stream
// <ks>outbox.
type Store struct {
	rdb redis.Cmdable
	ks  redislua.Keyspace
}

var _ ActivityStore = (*Store)(nil)

// NewStore returns the order store in keyspace ks of rdb.
func NewStore(rdb redis.Cmdable, ks redislua.Keyspace) *Store { return &Store{rdb: rdb, ks: ks} }

// Create implements ActivityStore.
func (s *Store) Create(ctx context.Context, key string, o ordersaga.Order) error {
	items, err := json.Marshal(o.Items)
	if err != nil {
		return fmt.Errorf("create order: %w", err)
	}
	ev, err := redislua.StepEvent(ctx, events.SourceOrder, events.OrderCreated, key, o.ID,
		map[string]any{"order_id": o.ID, "customer_id": o.CustomerID, "items": o.Items})
	if err != nil {
		return err
	}
	res, err := orderCreate.Run(ctx, s.rdb, []string{s.ks.Key("barrier", key), s.ks.Key("order", o.ID), s.ks.Outbox()},
		o.ID, o.CustomerID, items, ev).Text()
	if err != nil {
		return redislua.Error("create order", err)
	}
	if res == "compensated" {
		return fmt.Errorf("create order %s: %w", o.ID, ordersaga.ErrCompensated)
	}
	return nil
}

// Reject implements ActivityStore.
func (s *Store) Reject(ctx context.Context, key, orderID, reason string) error {
	ev, err := redislua.StepEvent(ctx, events.SourceOrder, events.OrderCancelled, key, orderID, map[string]any{"order_id": orderID, "reason": reason})
	if err != nil {
		return err
	}
	err = orderReject.Run(ctx, s.rdb, []string{s.ks.Key("barrier", key), s.ks.Key("order", orderID), s.ks.Outbox()}, reason, ev).Err()
	if err != nil {
		return redislua.Error("reject order", err)
	}
	return nil
}

// Confirm implements ActivityStore.
func (s *Store) Confirm(ctx context.Context, key, orderID string, totalCents int64, chargeID string) error {
	ev, err := redislua.StepEvent(ctx, events.SourceOrder, events.OrderConfirmed, key, orderID,
		map[string]any{"order_id": orderID, "total_cents": totalCents, "charge_id": chargeID})
	if err != nil {
		return err
	}
	err = orderConfirm.Run(ctx, s.rdb, []string{s.ks.Key("order", orderID), s.ks.Outbox()}, totalCents, chargeID, ev).Err()
	if err != nil {
		return redislua.Error("confirm order", err)
	}
	return nil
}

// RecordResolution implements ActivityStore.
func (s *Store) RecordResolution(ctx context.Context, in activities.ResolutionInput) error {
	rec, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("record resolution: %w", err)
	}
	ev, err := redislua.StepEvent(ctx, events.SourceOrder, events.CompensationResolved, in.Key, in.OrderID, map[string]any{
		"order_id": in.OrderID, "step": in.Step, "by": in.By, "at": in.At, "reason": in.Reason})
	if err != nil {
		return err
	}
	if err := orderResolve.Run(ctx, s.rdb, []string{s.ks.Key("resolution", in.Key), s.ks.Outbox()}, rec, ev).Err(); err != nil {
		return redislua.Error("record resolution", err)
	}
	return nil
}

// Get returns the order service's record of orderID, or an ENOTFOUND error.
func (s *Store) Get(ctx context.Context, orderID string) (ordersaga.Order, error) {
	h, err := s.rdb.HGetAll(ctx, s.ks.Key("order", orderID)).Result()
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
