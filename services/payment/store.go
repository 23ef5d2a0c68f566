// Package payment is the payment service: it alone owns the payments, in
// its own Redis keyspace (payment:), and calls the external payment
// provider. It holds the store and its Lua script (every change appends its
// event to the service's outbox in the same script), the provider client
// (timeouts, circuit breaker, idempotency keys), the service's HTTP API, and
// the client the gateway calls it with.
package payment

import (
	"context"
	"embed"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/internal/redislua"
)

//go:embed lua/*.lua
var luaFS embed.FS

var paymentRecord = redislua.Script(luaFS, "record")

// Store is the payment service's record of charges, authorizations and
// their refunds. Keys: <ks>payment:<saga step key> (hash: state, order_id,
// authorization_id, charge_id, amount_cents, reason) where state is
// charged, declined, refunding or refunded for a charge, and authorized,
// declined, captured, voiding, voided, refunding or refunded for an
// authorization (authorization.go); <ks>by-order:<order id> (the step key
// of the order's payment); and the outbox stream <ks>outbox.
type Store struct {
	rdb redis.Cmdable
	ks  redislua.Keyspace
}

var _ ActivityStore = (*Store)(nil)

// NewStore returns the payment store in keyspace ks of rdb.
func NewStore(rdb redis.Cmdable, ks redislua.Keyspace) *Store { return &Store{rdb: rdb, ks: ks} }

// Charged implements ActivityStore.
func (s *Store) Charged(ctx context.Context, key string) (string, error) {
	v, err := s.rdb.HMGet(ctx, s.ks.Key("payment", key), "state", "charge_id").Result()
	if err != nil {
		return "", fmt.Errorf("look up payment: %w", err)
	}
	state, _ := v[0].(string)
	chargeID, _ := v[1].(string)
	switch state {
	case "refunding", "refunded":
		return "", fmt.Errorf("look up payment: %w", ordersaga.ErrCompensated)
	case "charged":
		return chargeID, nil
	}
	return "", nil
}

// RecordCharge implements ActivityStore.
func (s *Store) RecordCharge(ctx context.Context, key, orderID, chargeID string, amountCents int64) error {
	ev, err := redislua.StepEvent(ctx, events.SourcePayment, events.PaymentCharged, key, orderID,
		map[string]any{"order_id": orderID, "charge_id": chargeID, "amount_cents": amountCents})
	if err != nil {
		return err
	}
	return s.record(ctx, key, "charged", orderID, chargeID, amountCents, "", ev)
}

// RecordDecline implements ActivityStore.
func (s *Store) RecordDecline(ctx context.Context, key, orderID, reason string) error {
	ev, err := redislua.StepEvent(ctx, events.SourcePayment, events.PaymentDeclined, key, orderID, map[string]any{"order_id": orderID, "reason": reason})
	if err != nil {
		return err
	}
	return s.record(ctx, key, "declined", orderID, "", 0, reason, ev)
}

// BeginRefund implements ActivityStore.
func (s *Store) BeginRefund(ctx context.Context, key, orderID string) error {
	return s.record(ctx, key, "refunding", orderID, "", 0, "", "")
}

// RecordRefund implements ActivityStore. The charge's fields are
// read first: BeginRefund, which comes before, froze them (a charge is
// refused once a refund began), and the event is built here, its amount an
// exact integer.
func (s *Store) RecordRefund(ctx context.Context, key, orderID string) error {
	v, err := s.rdb.HMGet(ctx, s.ks.Key("payment", key), "charge_id", "amount_cents", "order_id").Result()
	if err != nil {
		return fmt.Errorf("record refund: %w", err)
	}
	chargeID, _ := v[0].(string)
	amount, _ := v[1].(string)
	charged, _ := v[2].(string)
	cents, _ := strconv.ParseInt(amount, 10, 64)
	ev, err := redislua.StepEvent(ctx, events.SourcePayment, events.PaymentRefunded, key, orderID,
		map[string]any{"order_id": charged, "charge_id": chargeID, "amount_cents": cents})
	if err != nil {
		return err
	}
	return s.record(ctx, key, "refunded", orderID, "", 0, "", ev)
}

func (s *Store) record(ctx context.Context, key, state, orderID, chargeID string, amount int64, reason, event string) error {
	err := paymentRecord.Run(ctx, s.rdb, []string{s.ks.Key("payment", key), s.ks.Outbox(), s.ks.OrderIndex(orderID)},
		state, orderID, chargeID, amount, reason, event, key).Err()
	if err != nil {
		return redislua.Error("record payment "+state, err)
	}
	return nil
}

// Payment returns orderID's payment; ENOTFOUND if it has none (the charge
// step has not recorded anything yet).
func (s *Store) Payment(ctx context.Context, orderID string) (ordersaga.Payment, error) {
	h, err := redislua.ByOrder(ctx, s.rdb, s.ks, "payment", orderID)
	if err != nil {
		return ordersaga.Payment{}, err
	}
	p := ordersaga.Payment{OrderID: h["order_id"], State: h["state"], AuthorizationID: h["authorization_id"],
		ChargeID: h["charge_id"], Reason: h["reason"]}
	p.AmountCents, _ = strconv.ParseInt(h["amount_cents"], 10, 64)
	return p, nil
}
