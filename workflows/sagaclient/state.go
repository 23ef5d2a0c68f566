package sagaclient

import (
	"context"
	"errors"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/ordersaga/ordersaga/workflows"
)

// State returns the state of orderID's saga. Unknown orders are ENOTFOUND.
//
// A running saga is queried (the query runs on an orchestrator worker) and
// shows the attempts and last error of the activity it is running. A
// finished saga's state is its recorded result, read once from its close
// event — no worker takes part, so it reads while every worker is down —
// and then kept in memory. Only a saga whose close event holds no State
// (terminated, timed out, or canceled before the State was recorded there)
// is queried, once, which replays its history on a worker.
func (s *Client) State(ctx context.Context, orderID string) (workflows.State, error) {
	f, known := s.finished.Get(orderID)
	if known && f.state != nil {
		return *f.state, nil
	}
	desc, err := s.describe(ctx, orderID)
	if err != nil {
		return workflows.State{}, err
	}
	if !closed(desc) {
		return s.query(ctx, orderID, desc)
	}
	if !known {
		if f, err = s.finish(ctx, orderID, desc); err != nil {
			return workflows.State{}, err
		}
		if f.state != nil {
			return *f.state, nil
		}
	}
	st, err := s.query(ctx, orderID, desc)
	if err != nil {
		return workflows.State{}, err
	}
	f.state = &st
	s.finished.Put(orderID, f)
	return st, nil
}

// Owner returns the API client that placed orderID's saga, from its
// ClientId search attribute ("" for a saga started without one). Unknown
// orders are ENOTFOUND. A finished saga's owner is kept in memory with its
// state, which Owner reads ahead: the state read that usually follows costs
// nothing.
func (s *Client) Owner(ctx context.Context, orderID string) (string, error) {
	if f, ok := s.finished.Get(orderID); ok {
		return f.owner, nil
	}
	desc, err := s.describe(ctx, orderID)
	if err != nil {
		return "", err
	}
	if closed(desc) {
		if f, err := s.finish(ctx, orderID, desc); err == nil {
			return f.owner, nil
		}
		// The result could not be read now: the owner is known all the
		// same, and State reads the result again (and reports why not).
	}
	owner, err := ownerOf(desc)
	if err != nil {
		return "", fmt.Errorf("order %s: %w", orderID, err)
	}
	return owner, nil
}

func (s *Client) describe(ctx context.Context, orderID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	desc, err := s.c.DescribeWorkflowExecution(ctx, workflows.WorkflowID(orderID), "")
	return desc, domainError("describe saga", err)
}

// closed reports whether the described saga has finished.
func closed(desc *workflowservice.DescribeWorkflowExecutionResponse) bool {
	st := desc.GetWorkflowExecutionInfo().GetStatus()
	return st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING && st != enumspb.WORKFLOW_EXECUTION_STATUS_UNSPECIFIED
}

// query asks the saga for its live state and merges in its pending
// activities.
func (s *Client) query(ctx context.Context, orderID string, desc *workflowservice.DescribeWorkflowExecutionResponse) (workflows.State, error) {
	v, err := s.c.QueryWorkflow(ctx, workflows.WorkflowID(orderID), "", workflows.QueryState)
	if err != nil {
		return workflows.State{}, domainError("query saga", err)
	}
	var st workflows.State
	if err := v.Get(&st); err != nil {
		return workflows.State{}, fmt.Errorf("decode saga state: %w", err)
	}
	mergePending(&st, desc)
	return st, nil
}

// finish reads the described finished saga's recorded State and keeps it
// with the saga's owner.
func (s *Client) finish(ctx context.Context, orderID string, desc *workflowservice.DescribeWorkflowExecutionResponse) (finished, error) {
	owner, err := ownerOf(desc)
	if err != nil {
		return finished{}, fmt.Errorf("order %s: %w", orderID, err)
	}
	f := finished{owner: owner}
	exec := desc.GetWorkflowExecutionInfo().GetExecution()
	st, recorded, err := s.result(ctx, exec.GetWorkflowId(), exec.GetRunId())
	if err != nil {
		return finished{}, err
	}
	if recorded {
		f.state = &st
	}
	s.finished.Put(orderID, f)
	return f, nil
}

// result returns the State recorded in a finished run's close event: a
// completed saga's result, or a canceled saga's details. recorded is false
// when the close event holds no State: the run was terminated, timed out or
// failed, or was canceled before sagas recorded their State there (the
// details are then the failure reason, a string).
func (s *Client) result(ctx context.Context, workflowID, runID string) (st workflows.State, recorded bool, err error) {
	err = s.c.GetWorkflow(ctx, workflowID, runID).GetWithOptions(ctx, &st, client.WorkflowRunGetOptions{DisableFollowingRuns: true})
	var (
		canceled *temporal.CanceledError
		ended    *temporal.WorkflowExecutionError
	)
	switch {
	case err == nil:
		return st, true, nil
	case errors.As(err, &canceled):
		if canceled.Details(&st) == nil {
			return st, true, nil
		}
		return workflows.State{}, false, nil
	case errors.As(err, &ended):
		return workflows.State{}, false, nil
	}
	return workflows.State{}, false, domainError("read saga result", err)
}

// ownerOf decodes the described saga's ClientId search attribute.
func ownerOf(desc *workflowservice.DescribeWorkflowExecutionResponse) (string, error) {
	p := desc.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[workflows.ClientIDKey.GetName()]
	if p == nil {
		return "", nil
	}
	var owner string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &owner); err != nil {
		return "", fmt.Errorf("decode ClientId: %w", err)
	}
	return owner, nil
}

// mergePending copies the live attempt count and last failure of running
// activities into their steps: the workflow learns them only when an
// activity ends, the server knows them as they happen.
func mergePending(st *workflows.State, desc *workflowservice.DescribeWorkflowExecutionResponse) {
	for _, pa := range desc.GetPendingActivities() {
		step, compensation, ok := workflows.ActivityStep(pa.GetActivityType().GetName())
		ss := st.Step(step)
		if !ok || ss == nil {
			continue
		}
		msg := pa.GetLastFailure().GetMessage()
		if compensation && ss.Status == workflows.StepCompensating {
			ss.CompensationAttempts = pa.GetAttempt()
			if msg != "" {
				ss.CompensationError = msg
			}
		} else if ss.Status == workflows.StepRunning {
			ss.Attempts = pa.GetAttempt()
			if msg != "" {
				ss.LastError = msg
			}
		}
	}
}
