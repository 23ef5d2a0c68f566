package workflows

import (
	"fmt"
	"strings"

	"github.com/ordersaga/ordersaga/saga"
)

// MetricPrefix starts the names of the saga's metrics (see saga's Metric*
// names for what each records).
const MetricPrefix = "ordersaga_"

// The saga's metrics, as Prometheus names them.
const (
	MetricSagasStarted         = MetricPrefix + saga.MetricSagasStarted
	MetricSagasEnded           = MetricPrefix + saga.MetricSagasEnded
	MetricSagaDuration         = MetricPrefix + saga.MetricSagaDuration
	MetricStepDuration         = MetricPrefix + saga.MetricStepDuration
	MetricStepAttempts         = MetricPrefix + saga.MetricStepAttempts
	MetricCompensations        = MetricPrefix + saga.MetricCompensations
	MetricCompensationAttempts = MetricPrefix + saga.MetricCompensationAttempts
)

// Details renders st as the saga's current details (Temporal markdown): the
// engine's status, failure reason and steps in progress, then the total.
func Details(st State) string { return saga.Details(&st.Progress, details(&st)) }

// details is the order's paragraph of the current details: its total.
func details(st *State) string {
	if st.TotalCents <= 0 {
		return ""
	}
	return "Total: " + money(st.TotalCents)
}

// Summary is a saga's static summary in the Web UI's workflow page: its
// order and items (the total is known once the stock is reserved: see
// Details).
func Summary(in Input) string {
	const shown = 3
	items := make([]string, 0, shown)
	for i, it := range in.Items {
		if i == shown {
			items = append(items, fmt.Sprintf("+%d more", len(in.Items)-shown))
			break
		}
		items = append(items, fmt.Sprintf("%d× %s", it.Quantity, it.SKU))
	}
	return fmt.Sprintf("Order %s: %s", in.OrderID, strings.Join(items, ", "))
}

// StaticDetails are a saga's static details in the Web UI: every line of
// the order, and the client that placed it.
func StaticDetails(in Input) string {
	lines := []string{"| SKU | quantity |", "|---|---|"}
	for _, it := range in.Items {
		lines = append(lines, fmt.Sprintf("| %s | %d |", it.SKU, it.Quantity))
	}
	if in.ClientID != "" {
		lines = append(lines, "", "Placed by "+in.ClientID)
	}
	return strings.Join(lines, "\n")
}

func money(cents int64) string {
	return fmt.Sprintf("$%d.%02d", cents/100, cents%100)
}
