package workflows

import (
	"fmt"

	"github.com/ordersaga/ordersaga/activities"
)

// bind returns the argument of step's action and where to decode its result.
// This is the only place that knows each activity's types.
func (s *saga) bind(step Step) (args any, result any, err error) {
	key := s.key(step.Name)
	switch step.Name {
	case StepCreateOrder:
		return activities.CreateOrderInput{Key: key, OrderID: s.in.OrderID, CustomerID: s.in.CustomerID, Items: s.in.Items},
			&activities.Outcome{}, nil
	case StepReserveInventory:
		return activities.ReserveInput{Key: key, OrderID: s.in.OrderID, Items: s.in.Items}, &s.reservation, nil
	case StepChargePayment:
		return activities.ChargeInput{Key: key, OrderID: s.in.OrderID, Token: s.in.PaymentToken, AmountCents: s.state.TotalCents},
			&s.charge, nil
	case StepConfirmOrder:
		return activities.ConfirmOrderInput{Key: key, OrderID: s.in.OrderID, TotalCents: s.state.TotalCents, ChargeID: s.charge.ChargeID},
			&activities.Outcome{}, nil
	case StepCommitInventory:
		return activities.ReservationRef{Key: s.key(StepReserveInventory), OrderID: s.in.OrderID}, &activities.Outcome{}, nil
	}
	return nil, nil, fmt.Errorf("step %s has no action binding", step.Name)
}

// bindCompensation returns the argument of step's compensation. Its key is the
// action's key: together they form the service's barrier.
func (s *saga) bindCompensation(step Step) (any, error) {
	key := s.key(step.Name)
	switch step.Name {
	case StepCreateOrder:
		return activities.RejectOrderInput{Key: key, OrderID: s.in.OrderID, Reason: s.state.FailureReason}, nil
	case StepReserveInventory:
		return activities.ReservationRef{Key: key, OrderID: s.in.OrderID}, nil
	case StepChargePayment:
		return activities.RefundInput{Key: key, OrderID: s.in.OrderID, AmountCents: s.state.TotalCents}, nil
	}
	return nil, fmt.Errorf("step %s has no compensation binding", step.Name)
}

// recordResult copies a completed step's result into the saga state.
func (s *saga) recordResult(step Step) {
	switch step.Name {
	case StepReserveInventory:
		s.state.Lines = s.reservation.Lines
		s.state.TotalCents = s.reservation.TotalCents
	case StepChargePayment:
		s.state.ChargeID = s.charge.ChargeID
	}
}

// attemptOf extracts the attempt count every activity result carries.
func attemptOf(result any) int32 {
	switch r := result.(type) {
	case *activities.Outcome:
		return r.Attempt
	case *activities.Reservation:
		return r.Attempt
	case *activities.Charge:
		return r.Attempt
	}
	return 0
}
