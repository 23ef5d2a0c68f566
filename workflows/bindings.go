package workflows

import (
	"github.com/ordersaga/ordersaga/activities"
	"github.com/ordersaga/ordersaga/saga"
)

// The steps' bindings: how each action's and compensation's input is built
// from the order, and how a result is recorded into it. This is the only
// place that knows each activity's types.

func createOrderInput(o *State, k saga.Keys) activities.CreateOrderInput {
	return activities.CreateOrderInput{Key: k.Own(), OrderID: o.OrderID, CustomerID: o.CustomerID, Items: o.in.Items}
}

func rejectOrderInput(o *State, k saga.Keys) activities.RejectOrderInput {
	return activities.RejectOrderInput{Key: k.Own(), OrderID: o.OrderID, Reason: o.FailureReason}
}

func reserveInput(o *State, k saga.Keys) activities.ReserveInput {
	return activities.ReserveInput{Key: k.Own(), OrderID: o.OrderID, Items: o.in.Items}
}

// reserveOwnedInput is reserveInput stating the order's client, whose
// share of each SKU's stock the reservation is held to (revision 2 on).
func reserveOwnedInput(o *State, k saga.Keys) activities.ReserveInput {
	in := reserveInput(o, k)
	in.ClientID = o.ClientID
	return in
}

func recordReservation(o *State, r activities.Reservation) {
	o.Lines = r.Lines
	o.TotalCents = r.TotalCents
}

func ownReservation(o *State, k saga.Keys) activities.ReservationRef {
	return activities.ReservationRef{Key: k.Own(), OrderID: o.OrderID}
}

func commitInput(o *State, k saga.Keys) activities.ReservationRef {
	return activities.ReservationRef{Key: k.Of(StepReserveInventory), OrderID: o.OrderID}
}

func chargeInput(o *State, k saga.Keys) activities.ChargeInput {
	return activities.ChargeInput{Key: k.Own(), OrderID: o.OrderID, Token: o.in.PaymentToken, AmountCents: o.TotalCents}
}

func recordCharge(o *State, c activities.Charge) { o.ChargeID = c.ChargeID }

func refundInput(o *State, k saga.Keys) activities.RefundInput {
	return activities.RefundInput{Key: k.Own(), OrderID: o.OrderID, AmountCents: o.TotalCents}
}

func authorizeInput(o *State, k saga.Keys) activities.AuthorizeInput {
	return activities.AuthorizeInput{Key: k.Own(), OrderID: o.OrderID, Token: o.in.PaymentToken, AmountCents: o.TotalCents}
}

func recordAuthorization(o *State, a activities.Authorization) { o.AuthorizationID = a.AuthorizationID }

func voidInput(o *State, k saga.Keys) activities.VoidInput {
	return activities.VoidInput{Key: k.Own(), OrderID: o.OrderID}
}

// captureInput captures the authorization made under the authorize step's
// key, for the amount authorized.
func captureInput(o *State, k saga.Keys) activities.CaptureInput {
	return activities.CaptureInput{Key: k.Own(), AuthorizationKey: k.Of(StepAuthorizePayment), OrderID: o.OrderID,
		AmountCents: o.TotalCents}
}

func recordCapture(o *State, c activities.Capture) { o.ChargeID = c.ChargeID }

func refundCaptureInput(o *State, k saga.Keys) activities.RefundCaptureInput {
	return activities.RefundCaptureInput{Key: k.Own(), AuthorizationKey: k.Of(StepAuthorizePayment), OrderID: o.OrderID,
		AmountCents: o.TotalCents}
}

func confirmInput(o *State, k saga.Keys) activities.ConfirmOrderInput {
	return activities.ConfirmOrderInput{Key: k.Own(), OrderID: o.OrderID, TotalCents: o.TotalCents, ChargeID: o.ChargeID}
}

// recordResolution has the order service record an operator's resolution
// and emit saga.compensation_resolved.
func recordResolution(o *State, step string, k saga.Keys, r saga.Resolution) saga.Call {
	return saga.Call{
		TaskQueue: TaskQueueOrder,
		Activity:  activities.RecordResolutionName,
		Input: activities.ResolutionInput{Key: k.Own(), OrderID: o.OrderID, Step: step, By: r.By, At: r.At,
			Reason: r.Reason},
		StartToClose: quick.StartToClose,
	}
}
