package workflows_test

import (
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/saga"
	"github.com/ordersaga/ordersaga/services/inventory"
	"github.com/ordersaga/ordersaga/services/order"
	"github.com/ordersaga/ordersaga/services/payment"
	"github.com/ordersaga/ordersaga/workflows"
)

// TestDefinitionIsValid: every revision's table passes the engine's rules.
func TestDefinitionIsValid(t *testing.T) {
	for rev := 0; rev <= workflows.Revision; rev++ {
		require.NoError(t, saga.Validate(workflows.Definition(rev, workflows.Options{})), "revision %d", rev)
	}
}

// TestDefinitionNamesRegisteredActivities ensures every action and
// compensation of every revision names a method of the service struct
// registered on the step's task queue.
func TestDefinitionNamesRegisteredActivities(t *testing.T) {
	services := map[string]any{
		workflows.TaskQueueOrder:     &order.Activities{},
		workflows.TaskQueueInventory: &inventory.Activities{},
		workflows.TaskQueuePayment:   &payment.Activities{},
	}
	for rev := 0; rev <= workflows.Revision; rev++ {
		for _, step := range workflows.Definition(rev, workflows.Options{}).Steps {
			if step.Gate != nil {
				continue
			}
			svc, ok := services[step.TaskQueue]
			require.True(t, ok, "step %s: unknown task queue %s", step.Name, step.TaskQueue)
			for _, name := range []string{step.Action, step.Compensation} {
				if name == "" {
					continue
				}
				_, ok := reflect.TypeOf(svc).MethodByName(name)
				require.True(t, ok, "step %s: %T has no activity %s", step.Name, svc, name)
			}
		}
	}
}

// TestRevisionZeroRunsItsStepsOneAfterTheOther: revision 0 was recorded
// before steps started together and before the engine changes, which it
// decides by their markers.
func TestRevisionZeroRunsItsStepsOneAfterTheOther(t *testing.T) {
	def := workflows.Definition(0, workflows.Options{})
	for _, step := range def.Steps {
		require.False(t, step.WithPrevious, "step %s", step.Name)
	}
	require.ElementsMatch(t, []saga.Change{saga.ChangeParallelRetriables, saga.ChangeIndependentCompensations}, def.Markers)
	require.Empty(t, workflows.Definition(1, workflows.Options{}).Markers)
}
