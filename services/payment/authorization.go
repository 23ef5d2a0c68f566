package payment

import (
	"context"
	"fmt"
	"strconv"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/internal/redislua"
)

// The store's side of authorize before approval, capture after: one record
// per authorization, keyed by the authorization's key (the barrier of both
// AuthorizePayment/VoidPayment and CapturePayment/RefundCapture), in the
// same hash and index as a charge's. Its states: authorized, declined,
// captured; voiding and refunding while a release runs; voided and
// refunded after.

var paymentAuthorization = redislua.Script(luaFS, "authorization")

// Authorization implements ActivityStore.
func (s *Store) Authorization(ctx context.Context, key string) (AuthorizationRecord, error) {
	v, err := s.rdb.HMGet(ctx, s.ks.Key("payment", key), "state", "authorization_id", "charge_id", "amount_cents").Result()
	if err != nil {
		return AuthorizationRecord{}, fmt.Errorf("look up authorization: %w", err)
	}
	str := func(i int) string { x, _ := v[i].(string); return x }
	rec := AuthorizationRecord{State: str(0), AuthorizationID: str(1), CaptureID: str(2)}
	rec.AmountCents, _ = strconv.ParseInt(str(3), 10, 64)
	switch rec.State {
	case "voiding", "voided", "refunding", "refunded":
		return AuthorizationRecord{}, fmt.Errorf("look up authorization: %w", ordersaga.ErrCompensated)
	}
	return rec, nil
}

// RecordAuthorization implements ActivityStore: it appends
// payment.authorized.
func (s *Store) RecordAuthorization(ctx context.Context, key, orderID, authorizationID string, amountCents int64) error {
	ev, err := redislua.StepEvent(ctx, events.SourcePayment, events.PaymentAuthorized, key, orderID,
		map[string]any{"order_id": orderID, "authorization_id": authorizationID, "amount_cents": amountCents})
	if err != nil {
		return err
	}
	return s.authorization(ctx, "authorized", key, orderID, ev, authorizationID, amountCents)
}

// RecordCapture implements ActivityStore: it appends
// payment.captured.
func (s *Store) RecordCapture(ctx context.Context, key, stepKey, orderID string, c ProviderCapture) error {
	ev, err := redislua.StepEvent(ctx, events.SourcePayment, events.PaymentCaptured, stepKey, orderID, map[string]any{
		"order_id": orderID, "authorization_id": c.AuthorizationID, "charge_id": c.CaptureID, "amount_cents": c.AmountCents})
	if err != nil {
		return err
	}
	return s.authorization(ctx, "captured", key, orderID, ev, c.CaptureID, c.AmountCents, c.AuthorizationID)
}

// BeginRelease implements ActivityStore.
func (s *Store) BeginRelease(ctx context.Context, key, orderID string) error {
	return s.authorization(ctx, "releasing", key, orderID, "")
}

// RecordRelease implements ActivityStore. A refunded capture
// appends payment.refunded, a released hold payment.voided; a key voided
// before any authorization, and a declined one, append nothing.
func (s *Store) RecordRelease(ctx context.Context, key, stepKey, orderID string, r Release) error {
	var ev string
	var err error
	switch {
	case r.Status == "refunded":
		ev, err = redislua.StepEvent(ctx, events.SourcePayment, events.PaymentRefunded, stepKey, orderID, map[string]any{
			"order_id": orderID, "authorization_id": r.AuthorizationID, "charge_id": r.CaptureID, "amount_cents": r.AmountCents})
	case r.Status == "voided" && r.AuthorizationID != "":
		ev, err = redislua.StepEvent(ctx, events.SourcePayment, events.PaymentVoided, stepKey, orderID, map[string]any{
			"order_id": orderID, "authorization_id": r.AuthorizationID, "amount_cents": r.AmountCents})
	}
	if err != nil {
		return err
	}
	return s.authorization(ctx, "released", key, orderID, ev, r.Status, r.CaptureID, r.AmountCents, r.AuthorizationID)
}

func (s *Store) authorization(ctx context.Context, op, key, orderID, event string, args ...any) error {
	argv := append([]any{op, orderID, key, event}, args...)
	err := paymentAuthorization.Run(ctx, s.rdb, []string{s.ks.Key("payment", key), s.ks.Outbox(), s.ks.OrderIndex(orderID)}, argv...).Err()
	if err != nil {
		return redislua.Error("record authorization "+op, err)
	}
	return nil
}
