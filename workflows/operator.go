package workflows

import "github.com/ordersaga/ordersaga/saga"

// ApproveRequest is the optional argument of UpdateApprove.
type ApproveRequest struct {
	// By names who approves (the API's client name); kept in
	// State.ApprovedBy.
	By string `json:"by"`
}

// CompensationRequest is the argument of UpdateRetryCompensation and
// UpdateResolveCompensation.
type CompensationRequest = saga.CompensationRequest

// MaxReasonLen bounds the reasons of cancels and resolutions, in
// characters (as the API's schema counts them).
const MaxReasonLen = saga.MaxReasonLen
