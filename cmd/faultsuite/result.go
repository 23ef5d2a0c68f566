package main

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Result is what the suite found.
type Result struct {
	Orders, Completed, Compensated, Cancelled int
	Faults                                    []string
	// OutageOrders are the tok_ok orders placed during the provider outage
	// that must complete; OutageCompleted did, OutageFailures did not.
	OutageOrders, OutageCompleted int
	OutageFailures                []string
	// RetryingSeen is an order's state showing its charge retrying during
	// the outage; empty if none did.
	RetryingSeen                     string
	Stuck                            []string
	StockViolations, MoneyViolations []string
	EventsMissing, EventsExtra       []string
	Elapsed                          time.Duration
}

// Summary is the one line the suite prints.
func (r *Result) Summary() string {
	lost := len(r.Stuck) + len(r.EventsMissing) + len(r.StockViolations)
	double := len(r.EventsExtra) + len(r.MoneyViolations)
	return fmt.Sprintf("faultsuite: orders=%d completed=%d compensated=%d cancelled=%d faults=%d (%s) outage_orders_completed=%d/%d stuck=%d lost=%d double_effects=%d elapsed=%s",
		r.Orders, r.Completed, r.Compensated, r.Cancelled, len(r.Faults), strings.Join(r.Faults, ","), r.OutageCompleted, r.OutageOrders,
		len(r.Stuck), lost, double, r.Elapsed.Round(time.Second))
}

// Err reports every violation, or nil.
func (r *Result) Err() error {
	var errs []error
	add := func(what string, list []string) {
		if len(list) > 0 {
			if len(list) > 5 {
				list = append(list[:5], fmt.Sprintf("… %d more", len(list)-5))
			}
			errs = append(errs, fmt.Errorf("%s: %s", what, strings.Join(list, "; ")))
		}
	}
	add("sagas not ended", r.Stuck)
	add("stock not conserved", r.StockViolations)
	add("money not conserved", r.MoneyViolations)
	add("events missing", r.EventsMissing)
	add("events duplicated or unexpected", r.EventsExtra)
	add("tok_ok orders placed during the provider outage not completed", r.OutageFailures)
	if r.OutageOrders == 0 {
		errs = append(errs, errors.New("no tok_ok order was placed during the provider outage"))
	}
	if r.RetryingSeen == "" {
		errs = append(errs, errors.New("no order's state showed its charge retrying (attempts, last error) during the provider outage"))
	}
	return errors.Join(errs...)
}
