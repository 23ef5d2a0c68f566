package saga_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/ordersaga/ordersaga/saga"
)

// Transfer is a money transfer's state: the engine's Progress and the
// transfer's own data.
type Transfer struct {
	saga.Progress
	From, To    string
	AmountCents int64
}

type Move struct {
	Key         string
	Account     string
	AmountCents int64
}

// Bank is the transfer's activities.
type Bank struct{ log []string }

func (b *Bank) Debit(_ context.Context, m Move) error {
	b.log = append(b.log, fmt.Sprintf("debit %s %d", m.Account, m.AmountCents))
	return nil
}

func (b *Bank) Undebit(_ context.Context, m Move) error {
	b.log = append(b.log, fmt.Sprintf("undebit %s %d", m.Account, m.AmountCents))
	return nil
}

func (b *Bank) Credit(_ context.Context, m Move) error {
	b.log = append(b.log, "credit refused: "+m.Account+" is closed")
	return temporal.NewNonRetryableApplicationError(m.Account+" is closed", "AccountClosed", nil)
}

// transfer declares the saga as data: a compensatable debit, then the
// credit as its pivot. A step's bindings build its input from the state.
func transfer() saga.Definition[Transfer] {
	retry := saga.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, BackoffCoefficient: 2,
		MaximumAttempts: 5, NonRetryableErrorTypes: []string{"AccountClosed"}}
	move := func(account func(*Transfer) string) func(*Transfer, saga.Keys) Move {
		return func(t *Transfer, k saga.Keys) Move {
			return Move{Key: k.Own(), Account: account(t), AmountCents: t.AmountCents}
		}
	}
	from := func(t *Transfer) string { return t.From }
	return saga.Definition[Transfer]{
		Noun: "transfer",
		Steps: []saga.Step[Transfer]{
			{
				Name: "debit", Kind: saga.Compensatable, TaskQueue: "bank",
				Action: "Debit", Do: saga.BindInput(move(from)),
				Compensation: "Undebit", Undo: saga.Undo(move(from)),
				Retry: retry, Timeouts: saga.Timeouts{StartToClose: 10 * time.Second},
			},
			{
				Name: "credit", Kind: saga.Pivot, TaskQueue: "bank",
				Action: "Credit", Do: saga.BindInput(move(func(t *Transfer) string { return t.To })),
				Retry: retry, Timeouts: saga.Timeouts{StartToClose: 10 * time.Second},
			},
		},
	}
}

// TransferWorkflow runs the saga.
func TransferWorkflow(ctx workflow.Context, t Transfer) (Transfer, error) {
	return saga.Run(ctx, transfer(), &t)
}

// A credit refused for good undoes the debit: the saga ends COMPENSATED.
func Example() {
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(tlog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	env := suite.NewTestWorkflowEnvironment()
	bank := &Bank{}
	env.RegisterWorkflow(TransferWorkflow)
	env.RegisterActivity(bank)
	env.ExecuteWorkflow(TransferWorkflow, Transfer{From: "alice", To: "bob", AmountCents: 500})

	var t Transfer
	if err := env.GetWorkflowResult(&t); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(t.Status, "-", t.FailureReason)
	for _, line := range bank.log {
		fmt.Println(line)
	}
	// Output:
	// COMPENSATED - bob is closed
	// debit alice 500
	// credit refused: bob is closed
	// undebit alice 500
}
