package redisstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/internal/events"
)

var paymentRecord = script("payment_record")

// Payments is the payment service's record of charges and refunds. Keys:
// <ks>payment:<saga step key> (hash: state, order_id, charge_id,
// amount_cents, reason) where state is charged, declined, refunding or
// refunded; and the outbox stream <ks>outbox.
type Payments struct {
	rdb redis.Cmdable
	ks  Keyspace
}

var _ activities.PaymentStore = (*Payments)(nil)

// NewPayments returns the payment store in keyspace ks of rdb.
func NewPayments(rdb redis.Cmdable, ks Keyspace) *Payments { return &Payments{rdb: rdb, ks: ks} }

// Charged implements activities.PaymentStore.
func (s *Payments) Charged(ctx context.Context, key string) (string, error) {
	v, err := s.rdb.HMGet(ctx, s.ks.key("payment", key), "state", "charge_id").Result()
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

// RecordCharge implements activities.PaymentStore.
func (s *Payments) RecordCharge(ctx context.Context, key, orderID, chargeID string, amountCents int64) error {
	ev, err := newEvent(events.SourcePayment, events.PaymentCharged, key, orderID,
		map[string]any{"order_id": orderID, "charge_id": chargeID, "amount_cents": amountCents})
	if err != nil {
		return err
	}
	return s.record(ctx, key, "charged", orderID, chargeID, amountCents, "", ev)
}

// RecordDecline implements activities.PaymentStore.
func (s *Payments) RecordDecline(ctx context.Context, key, orderID, reason string) error {
	ev, err := newEvent(events.SourcePayment, events.PaymentDeclined, key, orderID, map[string]any{"order_id": orderID, "reason": reason})
	if err != nil {
		return err
	}
	return s.record(ctx, key, "declined", orderID, "", 0, reason, ev)
}

// BeginRefund implements activities.PaymentStore.
func (s *Payments) BeginRefund(ctx context.Context, key, orderID string) error {
	return s.record(ctx, key, "refunding", orderID, "", 0, "", "")
}

// RecordRefund implements activities.PaymentStore.
func (s *Payments) RecordRefund(ctx context.Context, key, orderID string) error {
	ev, err := newEvent(events.SourcePayment, events.PaymentRefunded, key, orderID, nil)
	if err != nil {
		return err
	}
	return s.record(ctx, key, "refunded", orderID, "", 0, "", ev)
}

func (s *Payments) record(ctx context.Context, key, state, orderID, chargeID string, amount int64, reason, event string) error {
	err := paymentRecord.Run(ctx, s.rdb, []string{s.ks.key("payment", key), s.ks.Outbox()},
		state, orderID, chargeID, amount, reason, event).Err()
	if err != nil {
		return scriptError("record payment "+state, err)
	}
	return nil
}
