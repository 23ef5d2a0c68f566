// Package ordersaga holds the domain of the order fulfillment saga: the
// values every service exchanges and the error codes the adapters map to
// transport status codes. It imports nothing from the rest of the module.
package ordersaga

import (
	"errors"
	"fmt"
	"regexp"
)

// Item is one requested order line: a SKU and how many units of it.
type Item struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// Line is an item priced by the inventory service at reservation time.
type Line struct {
	SKU            string `json:"sku"`
	Quantity       int64  `json:"quantity"`
	UnitPriceCents int64  `json:"unit_price_cents"`
}

// MaxTotalCents bounds every amount of money: an order's total, a charge,
// an authorization, a capture, a refund. It is below 10^14, so the stores'
// Lua scripts (whose numbers are doubles) compute amounts exactly and their
// JSON encoder (cjson prints 14 significant digits) writes them exactly.
const MaxTotalCents = 99_999_999_999_999

// Total returns the sum of quantity × unit price over lines. It is exact
// for lines whose total is at most MaxTotalCents (CheckTotal says so).
func Total(lines []Line) int64 {
	var total int64
	for _, l := range lines {
		total += l.Quantity * l.UnitPriceCents
	}
	return total
}

// CheckTotal returns the total of lines, or an EINVALID error (field
// "items", naming MaxTotalCents) when a line has a quantity or unit price
// out of range (quantity 0–MaxUnits, price 0–MaxPriceCents) or when the
// total would pass MaxTotalCents. It never overflows.
func CheckTotal(lines []Line) (int64, error) {
	var total int64
	for _, l := range lines {
		if l.Quantity < 0 || l.Quantity > MaxUnits || l.UnitPriceCents < 0 || l.UnitPriceCents > MaxPriceCents {
			return 0, Invalid("items", "sku %q: quantity must be 0-%d and unit price 0-%d cents, got %d at %d",
				l.SKU, MaxUnits, MaxPriceCents, l.Quantity, l.UnitPriceCents)
		}
		// The product of two bounded factors may still pass int64 (10^19):
		// compare by division first.
		if l.UnitPriceCents > 0 && l.Quantity > (MaxTotalCents-total)/l.UnitPriceCents {
			return 0, ErrTotalTooLarge
		}
		total += l.Quantity * l.UnitPriceCents
	}
	return total, nil
}

// ErrTotalTooLarge: an order's total would pass MaxTotalCents.
var ErrTotalTooLarge = Invalid("items", "the order's total would pass the bound of %d cents", int64(MaxTotalCents))

// Business outcomes. Stores wrap them with %w; activities turn them into
// non-retryable application errors, the API into status codes.
var (
	// ErrOutOfStock: a SKU has fewer units available than requested.
	ErrOutOfStock = errors.New("out of stock")
	// ErrUnknownSKU: the SKU is not in the catalog.
	ErrUnknownSKU = errors.New("unknown sku")
	// ErrDeclined: the payment provider declined the charge or the
	// authorization.
	ErrDeclined = errors.New("payment declined")
	// ErrHoldLimit: a reservation would make one client hold more than its
	// share of a SKU's stock in uncommitted reservations.
	ErrHoldLimit = errors.New("hold limit")
	// ErrCompensated: the step's compensation already ran for this key, so
	// the action must not be applied (the barrier's anti-hanging rule).
	ErrCompensated = errors.New("step already compensated")
)

// Error codes. Adapters map them to their own status codes in one place
// (HTTP: api.problemFor).
const (
	EINVALID     = "invalid"     // the request is malformed or violates a rule
	ENOTFOUND    = "not_found"   // the addressed entity does not exist
	ECONFLICT    = "conflict"    // the entity's state does not allow the operation
	EUNAVAILABLE = "unavailable" // a dependency is down; retry later
	EINTERNAL    = "internal"    // a bug or an unexpected failure
)

// Error is a domain error with a code, a message fit for clients, and an
// optional field naming the input that is wrong.
type Error struct {
	Code    string
	Message string
	Field   string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error naming the offending field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL
// for any other non-nil error, or "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// Order is the order service's record of an order.
type Order struct {
	ID         string      `json:"id"`
	CustomerID string      `json:"customer_id"`
	Items      []Item      `json:"items"`
	Status     OrderStatus `json:"status"`
	TotalCents int64       `json:"total_cents"`
	ChargeID   string      `json:"charge_id,omitempty"`
	Reason     string      `json:"reason,omitempty"`
}

// OrderStatus is the order service's status of an order (not the saga's).
type OrderStatus string

const (
	OrderPending   OrderStatus = "PENDING"
	OrderConfirmed OrderStatus = "CONFIRMED"
	OrderRejected  OrderStatus = "REJECTED"
)

// MaxIDLen is the longest ID or SKU.
const MaxIDLen = 64

var idPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// CheckID returns an EINVALID error naming field unless value is a valid
// ID or SKU: 1–MaxIDLen characters of [A-Za-z0-9._-], and not "." or ".."
// (IDs are path segments, which those two would not be).
func CheckID(field, value string) error {
	switch {
	case value == "":
		return Invalid(field, "%s is required", field)
	case len(value) > MaxIDLen:
		return Invalid(field, "%s must be at most %d characters", field, MaxIDLen)
	case !idPattern.MatchString(value):
		return Invalid(field, "%s may hold only letters, digits, '.', '_' and '-'", field)
	case value == "." || value == "..":
		return Invalid(field, "%s must not be %q", field, value)
	}
	return nil
}

// Stock is the inventory service's record of a SKU. Reservations move units
// from Available to Reserved; commits move them on to Committed; releases
// move them back.
type Stock struct {
	SKU        string `json:"sku"`
	Available  int64  `json:"available"`
	Reserved   int64  `json:"reserved"`
	Committed  int64  `json:"committed"`
	PriceCents int64  `json:"price_cents"`
}

// Limits of a SKU's stock and price.
const (
	MaxUnits      = 1_000_000_000
	MaxPriceCents = 100_000_000_00 // 100 million
)

// Reservation is the inventory service's record of an order's
// reservation: State is reserved, released or committed.
type Reservation struct {
	OrderID    string `json:"order_id"`
	State      string `json:"state"`
	Lines      []Line `json:"lines"`
	TotalCents int64  `json:"total_cents"`
}

// Payment is the payment service's record of an order's payment.
//
// A charge (sagas of the charge revision): State is charged, declined,
// refunding or refunded (a refunded payment without a ChargeID is a voided
// key: nothing was charged).
//
// An authorization (authorize before approval, capture after): State is
// authorized, declined, captured, voiding, voided, refunding or refunded;
// AuthorizationID names the hold, ChargeID the capture once there is one.
// A voided payment without an AuthorizationID is a voided key: nothing was
// held.
type Payment struct {
	OrderID         string `json:"order_id"`
	State           string `json:"state"`
	AuthorizationID string `json:"authorization_id,omitempty"`
	ChargeID        string `json:"charge_id,omitempty"`
	AmountCents     int64  `json:"amount_cents"`
	Reason          string `json:"reason,omitempty"`
}
