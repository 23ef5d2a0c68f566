package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

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

func (s *suite) drive(ctx context.Context) (*Result, error) {
	begin := time.Now()
	for sku, v := range skus {
		if err := s.call(ctx, "PUT", "/v1/inventory/"+sku, "", map[string]int64{"available": v[0], "price_cents": v[1]}, nil); err != nil {
			return nil, fmt.Errorf("seed %s: %w", sku, err)
		}
	}
	faultsDone := make(chan struct{})
	go func() { defer close(faultsDone); s.inject(ctx) }()

	ids := make([]string, s.cfg.Orders)
	var wg sync.WaitGroup
	errs := make(chan error, s.cfg.Orders)
	for i := range s.cfg.Orders {
		time.Sleep(time.Duration(float64(time.Second) / s.cfg.Rate))
		wg.Add(1)
		go func() {
			defer wg.Done()
			sku := []string{"fs-widget", "fs-gadget", "fs-scarce"}[i%3]
			body := map[string]any{"customer_id": fmt.Sprintf("cust-%d", i%17), "payment_token": token(i),
				"items": []map[string]any{{"sku": sku, "quantity": 1 + i%2}}}
			var out struct {
				OrderID string `json:"order_id"`
			}
			if err := s.call(ctx, "POST", "/v1/orders", fmt.Sprintf("faults-%d", i), body, &out); err != nil {
				errs <- fmt.Errorf("order %d: %w", i, err)
				return
			}
			ids[i] = out.OrderID
			s.place(i, out.OrderID)
			if cancelled(i) {
				_ = s.call(ctx, "POST", "/v1/orders/"+out.OrderID+"/cancel", fmt.Sprintf("faults-cancel-%d", i), nil, nil)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return nil, err
	}
	<-faultsDone
	s.log.Info("all orders placed; waiting for every saga to end")

	res := &Result{Orders: len(ids), Faults: s.faults}
	statuses := map[string]order{}
	deadline := time.Now().Add(s.cfg.Timeout)
	for {
		pending := 0
		for _, id := range ids {
			if o, ok := statuses[id]; ok && terminal(o.Status) {
				continue
			}
			var o order
			if err := s.call(ctx, "GET", "/v1/orders/"+id, "", nil, &o); err == nil {
				statuses[id] = o
			}
			if !terminal(statuses[id].Status) {
				pending++
			}
		}
		if pending == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Second)
	}
	for _, id := range ids {
		switch statuses[id].Status {
		case "COMPLETED":
			res.Completed++
		case "COMPENSATED":
			res.Compensated++
		case "CANCELLED":
			res.Cancelled++
		default:
			res.Stuck = append(res.Stuck, id+" "+statuses[id].Status)
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

type order struct {
	Status        string `json:"status"`
	FailureReason string `json:"failure_reason"`
	TotalCents    int64  `json:"total_cents"`
	Lines         []struct {
		SKU      string `json:"sku"`
		Quantity int64  `json:"quantity"`
	} `json:"lines"`
	Steps []orderStep `json:"steps"`
}

type orderStep struct {
	Name      string `json:"name"`
	Status    string `json:"status"`
	Attempts  int32  `json:"attempts"`
	LastError string `json:"last_error"`
}

// step returns the order's step called name (zero if absent).
func (o order) step(name string) orderStep {
	for _, st := range o.Steps {
		if st.Name == name {
			return st
		}
	}
	return orderStep{}
}

// terminal reports whether a saga status (as the API spells it) is final.
func terminal(status string) bool { return workflows.Status(status).Terminal() }

// checkStock: for every SKU available + reserved + committed is what was
// stocked, nothing stays reserved, and committed matches the completed
// orders' lines.
func (s *suite) checkStock(ctx context.Context, res *Result, statuses map[string]order) {
	committed := map[string]int64{}
	for _, o := range statuses {
		if o.Status == "COMPLETED" {
			for _, l := range o.Lines {
				committed[l.SKU] += l.Quantity
			}
		}
	}
	for sku, v := range skus {
		var st struct{ Available, Reserved, Committed int64 }
		if err := s.call(ctx, "GET", "/v1/inventory/"+sku, "", nil, &st); err != nil {
			res.StockViolations = append(res.StockViolations, sku+": "+err.Error())
			continue
		}
		if st.Available+st.Reserved+st.Committed != v[0] || st.Reserved != 0 || st.Committed != committed[sku] {
			res.StockViolations = append(res.StockViolations, fmt.Sprintf("%s: available %d + reserved %d + committed %d, stocked %d, committed by completed orders %d",
				sku, st.Available, st.Reserved, st.Committed, v[0], committed[sku]))
		}
	}
}

// checkMoney: the provider kept exactly the totals of the completed orders,
// charged each order at most once, and kept a charge of each completed order
// (for its total) and of no other.
func (s *suite) checkMoney(ctx context.Context, res *Result, statuses map[string]order) {
	var kept int64
	for _, o := range statuses {
		if o.Status == "COMPLETED" {
			kept += o.TotalCents
		}
	}
	var l struct {
		ChargedCents  int64 `json:"charged_cents"`
		RefundedCents int64 `json:"refunded_cents"`
		Charges       int64 `json:"charges"`
	}
	resp, err := http.Get("http://" + s.provider + "/v1/ledger")
	if err == nil {
		err = json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
	}
	if err != nil {
		res.MoneyViolations = append(res.MoneyViolations, "ledger: "+err.Error())
		return
	}
	if l.ChargedCents-l.RefundedCents != kept {
		res.MoneyViolations = append(res.MoneyViolations, fmt.Sprintf("charged %d - refunded %d = %d, completed orders total %d",
			l.ChargedCents, l.RefundedCents, l.ChargedCents-l.RefundedCents, kept))
	}
	charged := 0
	iter := s.rdb.Scan(ctx, 0, s.prefix+"paymentsim:charge:*", 1000).Iterator()
	for iter.Next(ctx) {
		if st := s.rdb.HGet(ctx, iter.Val(), "status").Val(); st == "succeeded" || st == "refunded" {
			charged++
		}
	}
	if int64(charged) != l.Charges {
		res.MoneyViolations = append(res.MoneyViolations, fmt.Sprintf("%d charges for %d charged orders", l.Charges, charged))
	}
	for id, o := range statuses {
		key := s.prefix + "paymentsim:charge:" + workflows.WorkflowID(id) + "/" + workflows.StepChargePayment
		ch, err := s.rdb.HMGet(ctx, key, "status", "amount_cents").Result()
		if err != nil {
			res.MoneyViolations = append(res.MoneyViolations, "provider charge of order "+id+": "+err.Error())
			continue
		}
		status, _ := ch[0].(string)
		amount, _ := ch[1].(string)
		switch {
		case o.Status == "COMPLETED" && (status != "succeeded" || amount != strconv.FormatInt(o.TotalCents, 10)):
			res.MoneyViolations = append(res.MoneyViolations, fmt.Sprintf("order %s completed (total %d) but its charge is %q of %q cents",
				id, o.TotalCents, status, amount))
		case o.Status != "COMPLETED" && status == "succeeded":
			res.MoneyViolations = append(res.MoneyViolations, fmt.Sprintf("order %s %s but the provider kept its charge", id, o.Status))
		}
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
			var tl struct {
				Events []struct{ Type string } `json:"events"`
			}
			_ = s.call(ctx, "GET", "/v1/orders/"+id+"/events", "", nil, &tl)
			var got []string
			for _, e := range tl.Events {
				got = append(got, e.Type)
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
	switch s.rdb.HGet(ctx, s.prefix+"order:order:"+id, "status").Val() {
	case "PENDING":
		out = append(out, "order.created")
	case "CONFIRMED":
		out = append(out, "order.created", "order.confirmed")
	case "REJECTED":
		out = append(out, "order.created", "order.cancelled")
	}
	switch s.rdb.HGet(ctx, s.prefix+"inventory:reservation:"+wf+"/reserve_inventory", "state").Val() {
	case "reserved":
		out = append(out, "inventory.reserved")
	case "released":
		out = append(out, "inventory.reserved", "inventory.released")
	case "committed":
		out = append(out, "inventory.reserved", "inventory.committed")
	}
	pay := s.rdb.HMGet(ctx, s.prefix+"payment:payment:"+wf+"/charge_payment", "state", "charge_id").Val()
	state, _ := pay[0].(string)
	chargeID, _ := pay[1].(string)
	switch {
	case state == "charged":
		out = append(out, "payment.charged")
	case state == "declined":
		out = append(out, "payment.declined")
	case state == "refunded" && chargeID != "":
		out = append(out, "payment.charged", "payment.refunded")
	case state == "refunding" && chargeID != "":
		out = append(out, "payment.charged")
	}
	sort.Strings(out)
	return out
}

// call sends a JSON request to the API, retrying transient failures (503,
// 429 from admission control while the sagas are behind, connection
// errors) with backoff; with an idempotency key the retries are safe for
// writes.
func (s *suite) call(ctx context.Context, method, path, key string, body, out any) error {
	var payload []byte
	if body != nil {
		payload, _ = json.Marshal(body)
	}
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		req, _ := http.NewRequestWithContext(ctx, method, "http://"+s.api+path, bytes.NewReader(payload))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case resp.StatusCode < 300:
				if out != nil {
					return json.Unmarshal(raw, out)
				}
				return nil
			case resp.StatusCode == http.StatusConflict && strings.HasSuffix(path, "/cancel"):
				return nil // too late to cancel: fine
			case resp.StatusCode < 500 && resp.StatusCode != http.StatusConflict && resp.StatusCode != http.StatusTooManyRequests:
				return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
			}
			err = fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		if attempt >= 60 || ctx.Err() != nil {
			return err
		}
		time.Sleep(backoff)
		backoff = min(2*backoff, 2*time.Second)
	}
}

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
