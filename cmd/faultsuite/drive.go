package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/ordersaga/ordersaga/api/client"
	"github.com/ordersaga/ordersaga/workflows"
)

var skus = map[string][2]int64{"fs-widget": {100000, 1000}, "fs-gadget": {100000, 2500}, "fs-scarce": {25, 700}}

// token picks order i's payment token: mostly ok, some declined, flaky, slow.
func token(i int) string {
	switch i % 10 {
	case 1, 6:
		return "tok_declined"
	case 2:
		return "tok_flaky"
	case 7:
		return "tok_slow"
	}
	return "tok_ok"
}

// cancelled reports whether the suite asks to cancel order i (it succeeds
// before the payment starts; after, the API refuses).
func cancelled(i int) bool { return i%10 == 4 }

// drive seeds the catalog, places the orders while the faults are
// injected, waits for every saga to end, and checks the outcome.
func (s *suite) drive(ctx context.Context) (*Result, error) {
	begin := time.Now()
	if err := s.seed(ctx); err != nil {
		return nil, err
	}
	faultsDone := make(chan struct{})
	go func() { defer close(faultsDone); s.inject(ctx) }()
	ids, err := s.placeAll(ctx)
	if err != nil {
		return nil, err
	}
	<-faultsDone
	s.log.Info("all orders placed; waiting for every saga to end")
	statuses := s.awaitEnds(ctx, ids)
	res := &Result{Orders: len(ids), Faults: s.faults}
	for _, id := range ids {
		switch statuses[id].Status {
		case "COMPLETED":
			res.Completed++
		case "COMPENSATED":
			res.Compensated++
		case "CANCELLED":
			res.Cancelled++
		default:
			res.Stuck = append(res.Stuck, id+" "+string(statuses[id].Status))
		}
	}
	s.log.Info("sagas ended; checking stock, money and events")
	s.checkStock(ctx, res, statuses)
	s.checkMoney(ctx, res, statuses)
	s.checkEvents(ctx, res, ids)
	s.checkOutage(res, statuses)
	res.Elapsed = time.Since(begin)
	return res, nil
}

// seed stocks the suite's SKUs.
func (s *suite) seed(ctx context.Context) error {
	for sku, v := range skus {
		r, err := retry(ctx, false, func() (*client.PutStockResponse, error) {
			return s.client.PutStockWithResponse(ctx, sku, nil, client.PutStockRequest{Available: v[0], PriceCents: v[1]})
		})
		if err == nil && r.JSON200 == nil {
			err = unexpected(r.StatusCode(), r.Body)
		}
		if err != nil {
			return fmt.Errorf("seed %s: %w", sku, err)
		}
	}
	return nil
}

// placeAll places the suite's orders at its rate, each in its own
// goroutine, and returns their IDs; the first order that could not be
// placed is the error.
func (s *suite) placeAll(ctx context.Context) ([]string, error) {
	ids := make([]string, s.cfg.Orders)
	var wg sync.WaitGroup
	errs := make(chan error, s.cfg.Orders)
	for i := range s.cfg.Orders {
		time.Sleep(time.Duration(float64(time.Second) / s.cfg.Rate))
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := s.placeOne(ctx, i)
			if err != nil {
				errs <- fmt.Errorf("order %d: %w", i, err)
				return
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return nil, err
	}
	return ids, nil
}

// placeOne places order i, and asks to cancel it if the suite says so.
func (s *suite) placeOne(ctx context.Context, i int) (string, error) {
	sku := []string{"fs-widget", "fs-gadget", "fs-scarce"}[i%3]
	body := client.CreateOrderRequest{CustomerID: fmt.Sprintf("cust-%d", i%17), PaymentToken: token(i),
		Items: []client.Item{{SKU: sku, Quantity: int64(1 + i%2)}}}
	key := fmt.Sprintf("faults-%d", i)
	r, err := retry(ctx, true, func() (*client.CreateOrderResponse, error) {
		return s.client.CreateOrderWithResponse(ctx, &client.CreateOrderParams{IdempotencyKey: &key}, body)
	})
	if err == nil && r.JSON202 == nil {
		err = unexpected(r.StatusCode(), r.Body)
	}
	if err != nil {
		return "", err
	}
	id := r.JSON202.OrderID
	s.place(i, id)
	if cancelled(i) {
		// Refused (409) once the payment has started: fine.
		key := fmt.Sprintf("faults-cancel-%d", i)
		_, _ = retry(ctx, false, func() (*client.CancelOrderResponse, error) {
			return s.client.CancelOrderWithResponse(ctx, id, &client.CancelOrderParams{IdempotencyKey: &key}, client.CancelRequest{})
		})
	}
	return id, nil
}

// awaitEnds reads the orders' views until every saga has ended, the
// suite's timeout runs out or ctx is done, and returns the last view of
// each.
func (s *suite) awaitEnds(ctx context.Context, ids []string) map[string]client.OrderView {
	statuses := map[string]client.OrderView{}
	deadline := time.Now().Add(s.cfg.Timeout)
	for {
		pending := 0
		for _, id := range ids {
			if o, ok := statuses[id]; ok && terminal(o.Status) {
				continue
			}
			if o, err := s.order(ctx, id); err == nil {
				statuses[id] = *o
			}
			if !terminal(statuses[id].Status) {
				pending++
			}
		}
		if pending == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			return statuses
		}
		time.Sleep(time.Second)
	}
}

// order reads an order's view.
func (s *suite) order(ctx context.Context, id string) (*client.OrderView, error) {
	r, err := retry(ctx, false, func() (*client.GetOrderResponse, error) { return s.client.GetOrderWithResponse(ctx, id, nil) })
	if err == nil && r.JSON200 == nil {
		err = unexpected(r.StatusCode(), r.Body)
	}
	if err != nil {
		return nil, err
	}
	return r.JSON200, nil
}

// step returns the order's step called name (zero if absent).
func step(o client.OrderView, name client.StepName) client.StepState {
	for _, st := range o.Steps {
		if st.Name == name {
			return st
		}
	}
	return client.StepState{}
}

// terminal reports whether a saga status is final.
func terminal(status client.SagaStatus) bool { return workflows.Status(status).Terminal() }

// checkStock: for every SKU available + reserved + committed is what was
// stocked, nothing stays reserved, and committed matches the completed
// orders' lines.
func (s *suite) checkStock(ctx context.Context, res *Result, statuses map[string]client.OrderView) {
	committed := map[string]int64{}
	for _, o := range statuses {
		if o.Status == client.SagaStatusCOMPLETED {
			for _, l := range o.Lines {
				committed[l.SKU] += l.Quantity
			}
		}
	}
	for sku, v := range skus {
		r, err := retry(ctx, false, func() (*client.GetStockResponse, error) { return s.client.GetStockWithResponse(ctx, sku, nil) })
		if err == nil && r.JSON200 == nil {
			err = unexpected(r.StatusCode(), r.Body)
		}
		if err != nil {
			res.StockViolations = append(res.StockViolations, sku+": "+err.Error())
			continue
		}
		st := r.JSON200
		if st.Available+st.Reserved+st.Committed != v[0] || st.Reserved != 0 || st.Committed != committed[sku] {
			res.StockViolations = append(res.StockViolations, fmt.Sprintf("%s: available %d + reserved %d + committed %d, stocked %d, committed by completed orders %d",
				sku, st.Available, st.Reserved, st.Committed, v[0], committed[sku]))
		}
	}
}

// checkMoney: the provider kept exactly the totals of the completed orders
// (charged + captured − refunded), took each order's money at most once,
// kept the charge or capture of each completed order (for its total) and
// of no other, and holds no authorization at the end (each was captured or
// voided).
func (s *suite) checkMoney(ctx context.Context, res *Result, statuses map[string]client.OrderView) {
	var kept int64
	for _, o := range statuses {
		if o.Status == client.SagaStatusCOMPLETED {
			kept += o.TotalCents
		}
	}
	l, err := s.ledger()
	if err != nil {
		res.MoneyViolations = append(res.MoneyViolations, "ledger: "+err.Error())
		return
	}
	if took := l.ChargedCents + l.CapturedCents - l.RefundedCents; took != kept {
		res.MoneyViolations = append(res.MoneyViolations, fmt.Sprintf("charged %d + captured %d - refunded %d = %d, completed orders total %d",
			l.ChargedCents, l.CapturedCents, l.RefundedCents, took, kept))
	}
	taken, held := 0, 0
	iter := s.rdb.Scan(ctx, 0, s.prefix+"{paymentsim}:charge:*", 1000).Iterator()
	for iter.Next(ctx) {
		switch s.rdb.HGet(ctx, iter.Val(), "status").Val() {
		case "succeeded", "captured", "refunded":
			taken++
		case "authorized":
			held++
		}
	}
	if int64(taken) != l.Charges+l.Captures {
		res.MoneyViolations = append(res.MoneyViolations, fmt.Sprintf("%d charges and %d captures for %d orders whose money was taken",
			l.Charges, l.Captures, taken))
	}
	if held > 0 {
		res.MoneyViolations = append(res.MoneyViolations, fmt.Sprintf("%d authorizations still held on cards", held))
	}
	for id, o := range statuses {
		s.checkOrderMoney(ctx, res, id, o)
	}
}

// providerLedger is the simulated provider's running totals.
type providerLedger struct {
	ChargedCents  int64 `json:"charged_cents"`
	CapturedCents int64 `json:"captured_cents"`
	RefundedCents int64 `json:"refunded_cents"`
	Charges       int64 `json:"charges"`
	Captures      int64 `json:"captures"`
}

func (s *suite) ledger() (providerLedger, error) {
	var l providerLedger
	resp, err := http.Get("http://" + s.provider + "/v1/ledger")
	if err != nil {
		return l, err
	}
	defer resp.Body.Close()
	return l, json.NewDecoder(resp.Body).Decode(&l)
}

// checkOrderMoney: a completed order's money was taken for its total (a
// charge succeeded, or an authorization captured), another order's not.
// The provider's record is under the payment step's key: the
// authorization's (revision 2 on), else the charge's.
func (s *suite) checkOrderMoney(ctx context.Context, res *Result, id string, o client.OrderView) {
	var status, amount string
	for _, step := range []string{workflows.StepAuthorizePayment, workflows.StepChargePayment} {
		key := s.prefix + "{paymentsim}:charge:" + workflows.WorkflowID(id) + "/" + step
		ch, err := s.rdb.HMGet(ctx, key, "status", "amount_cents").Result()
		if err != nil {
			res.MoneyViolations = append(res.MoneyViolations, "provider payment of order "+id+": "+err.Error())
			return
		}
		status, _ = ch[0].(string)
		amount, _ = ch[1].(string)
		if status != "" {
			break
		}
	}
	took := status == "succeeded" || status == "captured"
	switch {
	case o.Status == client.SagaStatusCOMPLETED && (!took || amount != strconv.FormatInt(o.TotalCents, 10)):
		res.MoneyViolations = append(res.MoneyViolations, fmt.Sprintf("order %s completed (total %d) but its payment is %q of %q cents",
			id, o.TotalCents, status, amount))
	case o.Status != client.SagaStatusCOMPLETED && (took || status == "authorized"):
		res.MoneyViolations = append(res.MoneyViolations, fmt.Sprintf("order %s %s but the provider kept its payment (%s)", id, o.Status, status))
	}
}

// checkEvents compares each order's timeline with the state changes its
// services recorded: each must be there exactly once.
func (s *suite) checkEvents(ctx context.Context, res *Result, ids []string) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		var missing, extra []string
		for _, id := range ids {
			want := s.expectedEvents(ctx, id)
			var got []string
			r, err := retry(ctx, false, func() (*client.GetOrderEventsResponse, error) {
				return s.client.GetOrderEventsWithResponse(ctx, id, nil)
			})
			if err == nil && r.JSON200 != nil {
				for _, e := range r.JSON200.Events {
					got = append(got, e.Type)
				}
			}
			sort.Strings(got)
			for _, w := range want {
				if i := slices.Index(got, w); i >= 0 {
					got = slices.Delete(got, i, i+1)
				} else {
					missing = append(missing, id+" "+w)
				}
			}
			for _, g := range got {
				extra = append(extra, id+" "+g)
			}
		}
		// Events may still be on their way: wait for the outboxes to drain.
		if len(missing) == 0 || time.Now().After(deadline) {
			res.EventsMissing, res.EventsExtra = missing, extra
			return
		}
		time.Sleep(2 * time.Second)
	}
}

// expectedEvents derives an order's events from its services' records.
func (s *suite) expectedEvents(ctx context.Context, id string) []string {
	wf := "order-" + id
	var out []string
	switch s.rdb.HGet(ctx, s.prefix+"{order}:order:"+id, "status").Val() {
	case "PENDING":
		out = append(out, "order.created")
	case "CONFIRMED":
		out = append(out, "order.created", "order.confirmed")
	case "REJECTED":
		out = append(out, "order.created", "order.cancelled")
	}
	switch s.rdb.HGet(ctx, s.prefix+"{inventory}:reservation:"+wf+"/reserve_inventory", "state").Val() {
	case "reserved":
		out = append(out, "inventory.reserved")
	case "released":
		out = append(out, "inventory.reserved", "inventory.released")
	case "committed":
		out = append(out, "inventory.reserved", "inventory.committed")
	}
	out = append(out, s.paymentEvents(ctx, wf)...)
	sort.Strings(out)
	return out
}

// paymentEvents derives the payment events of the saga wf from the payment
// service's record: an authorization's (revision 2 on), else a charge's.
func (s *suite) paymentEvents(ctx context.Context, wf string) []string {
	pay := s.rdb.HMGet(ctx, s.prefix+"{payment}:payment:"+wf+"/"+workflows.StepAuthorizePayment, "state", "charge_id", "authorization_id").Val()
	state, _ := pay[0].(string)
	chargeID, _ := pay[1].(string)
	authID, _ := pay[2].(string)
	if state != "" {
		switch {
		case state == "declined":
			return []string{"payment.declined"}
		case state == "authorized" || state == "voiding" && authID != "":
			return []string{"payment.authorized"}
		case state == "voided" && authID != "":
			return []string{"payment.authorized", "payment.voided"}
		case state == "captured" || state == "refunding" && chargeID != "":
			return []string{"payment.authorized", "payment.captured"}
		case state == "refunded" && chargeID != "":
			return []string{"payment.authorized", "payment.captured", "payment.refunded"}
		}
		return nil
	}
	pay = s.rdb.HMGet(ctx, s.prefix+"{payment}:payment:"+wf+"/"+workflows.StepChargePayment, "state", "charge_id").Val()
	state, _ = pay[0].(string)
	chargeID, _ = pay[1].(string)
	switch {
	case state == "charged":
		return []string{"payment.charged"}
	case state == "declined":
		return []string{"payment.declined"}
	case state == "refunded" && chargeID != "":
		return []string{"payment.charged", "payment.refunded"}
	case state == "refunding" && chargeID != "":
		return []string{"payment.charged"}
	}
	return nil
}

// retry calls the API with do until it gets a definite answer: a
// connection error, a 5xx or a 429 (admission control, while the sagas are
// behind) is retried with backoff, and so is a 409 when retryConflict says
// it means "a request with the same Idempotency-Key is still in progress".
// Writes carry an Idempotency-Key, so retrying them is safe. Past the
// attempts it returns the last error, or the last answer.
func retry[R interface{ StatusCode() int }](ctx context.Context, retryConflict bool, do func() (R, error)) (R, error) {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		r, err := do()
		if err == nil {
			code := r.StatusCode()
			if code < 500 && code != http.StatusTooManyRequests && (code != http.StatusConflict || !retryConflict) {
				return r, nil
			}
		}
		if attempt >= 60 || ctx.Err() != nil {
			return r, err
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
}

// unexpected is the error of an answer the caller cannot use.
func unexpected(status int, body []byte) error { return fmt.Errorf("answered %d: %s", status, body) }

func waitReady(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return errors.New(url + " not ready")
}
