// Package inventory is the inventory service: it alone owns the stock and
// the reservations, in its own Redis keyspace (inventory:). It holds the
// store and its Lua scripts (every change appends its event to the
// service's outbox in the same script), the service's HTTP API, and the
// client the gateway calls it with.
package inventory

import (
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/events"
	"github.com/ordersaga/ordersaga/internal/redislua"
)

//go:embed lua/*.lua
var luaFS embed.FS

var (
	inventoryReserve = redislua.Script(luaFS, "reserve")
	inventorySettle  = redislua.Script(luaFS, "settle")
	inventoryRestock = redislua.Script(luaFS, "restock")
)

// Store is the inventory service's store. Keys: <ks>sku:<sku> (hash:
// available, reserved, committed, price_cents, version, and held:<client>
// per client holding units), <ks>reservation:<saga step key> (hash: state,
// order_id, lines, client), <ks>by-order:<order id> (the step key of the
// order's reservation) and the outbox stream <ks>outbox.
type Store struct {
	rdb       redis.Cmdable
	ks        redislua.Keyspace
	holdShare int
}

var _ ActivityStore = (*Store)(nil)

// DefaultHoldShare is the share of a SKU's unsold units (in percent) one
// client may hold in uncommitted reservations, unless WithHoldShare says
// otherwise.
const DefaultHoldShare = 50

// maxClientLen bounds a client ID (a hash field name).
const maxClientLen = 256

// NewStore returns the inventory store in keyspace ks of rdb, with the
// default hold share.
func NewStore(rdb redis.Cmdable, ks redislua.Keyspace) *Store {
	return &Store{rdb: rdb, ks: ks, holdShare: DefaultHoldShare}
}

// WithHoldShare returns a copy of s whose clients may each hold at most
// percent (1-100; 100: no bound) of a SKU's unsold units; an error
// otherwise.
func (s *Store) WithHoldShare(percent int) (*Store, error) {
	if percent < 1 || percent > 100 {
		return nil, fmt.Errorf("inventory: hold share must be 1-100 percent, got %d", percent)
	}
	c := *s
	c.holdShare = percent
	return &c, nil
}

// Put sets a SKU's available units and price, creating the SKU if needed;
// reserved and committed units are kept. A change appends an
// inventory.restocked event (subject: the SKU; no saga) to the outbox in
// the same script; setting what is already there appends nothing.
func (s *Store) Put(ctx context.Context, sku string, available, priceCents int64) (ordersaga.Stock, error) {
	ev, err := events.New(events.SourceInventory, events.InventoryRestocked, "stock/"+sku, "", sku, time.Now(), nil)
	if err != nil {
		return ordersaga.Stock{}, err
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		return ordersaga.Stock{}, fmt.Errorf("put stock %s: %w", sku, err)
	}
	err = inventoryRestock.Run(ctx, s.rdb, []string{s.ks.Key("sku", sku), s.ks.Outbox()}, sku, available, priceCents, raw).Err()
	if err != nil {
		return ordersaga.Stock{}, redislua.Error("put stock "+sku, err)
	}
	return s.Get(ctx, sku)
}

// Get returns a SKU's stock; an unknown SKU is an ENOTFOUND error wrapping
// ordersaga.ErrUnknownSKU.
func (s *Store) Get(ctx context.Context, sku string) (ordersaga.Stock, error) {
	h, err := s.rdb.HGetAll(ctx, s.ks.Key("sku", sku)).Result()
	if err != nil {
		return ordersaga.Stock{}, fmt.Errorf("get stock %s: %w", sku, err)
	}
	if len(h) == 0 {
		return ordersaga.Stock{}, &ordersaga.Error{Code: ordersaga.ENOTFOUND,
			Message: fmt.Sprintf("sku %q not found", sku), Err: ordersaga.ErrUnknownSKU}
	}
	st := ordersaga.Stock{SKU: sku}
	for field, dst := range map[string]*int64{"available": &st.Available, "reserved": &st.Reserved,
		"committed": &st.Committed, "price_cents": &st.PriceCents} {
		*dst, _ = strconv.ParseInt(h[field], 10, 64)
	}
	return st, nil
}

// Reserve reserves items under key for no client in particular (no hold
// bound): ReserveFor with an empty client.
func (s *Store) Reserve(ctx context.Context, key, orderID string, items []ordersaga.Item) ([]ordersaga.Line, error) {
	return s.ReserveFor(ctx, key, orderID, "", items)
}

// ReserveFor implements ActivityStore. Items naming the same
// SKU twice are merged.
//
// Hold bound: the SKU's hash counts the units each client holds in
// uncommitted reservations (field held:<client>), changed in the same
// script as the reservation, its release and its commit. A reservation
// that would make the client hold more than the store's hold share of a
// SKU's unsold units (available + reserved; at least one unit) fails with
// ordersaga.ErrHoldLimit and changes nothing. Each SKU of a multi-SKU
// order is bounded on its own, all in one script: all or nothing, as the
// stock. Keeping the count in the SKU's own hash adds no key to the
// script, so it needs nothing more than the reservation already does
// (under Redis Cluster: every key of a keyspace in one hash slot).
func (s *Store) ReserveFor(ctx context.Context, key, orderID, clientID string, items []ordersaga.Item) ([]ordersaga.Line, error) {
	if len(clientID) > maxClientLen {
		return nil, ordersaga.Invalid("client_id", "client_id must be at most %d bytes", maxClientLen)
	}
	merged := mergeItems(items)
	ev, err := redislua.StepEvent(ctx, events.SourceInventory, events.InventoryReserved, key, orderID, nil)
	if err != nil {
		return nil, err
	}
	keys := []string{s.ks.Key("reservation", key), s.ks.Outbox(), s.ks.OrderIndex(orderID)}
	args := []any{orderID, ev, key, clientID, s.holdShare, int64(ordersaga.MaxTotalCents)}
	for _, it := range merged {
		if err := ordersaga.CheckID("sku", it.SKU); err != nil {
			return nil, err
		}
		if it.Quantity <= 0 || it.Quantity > ordersaga.MaxUnits {
			return nil, ordersaga.Invalid("quantity", "sku %q: quantity must be between 1 and %d, got %d", it.SKU, ordersaga.MaxUnits, it.Quantity)
		}
		keys = append(keys, s.ks.Key("sku", it.SKU))
		args = append(args, it.SKU, it.Quantity)
	}
	res, err := inventoryReserve.Run(ctx, s.rdb, keys, args...).StringSlice()
	if err != nil {
		return nil, redislua.Error("reserve", err)
	}
	switch res[0] {
	case "compensated":
		return nil, fmt.Errorf("reserve: %w", ordersaga.ErrCompensated)
	case "unknown":
		return nil, fmt.Errorf("%w %q", ordersaga.ErrUnknownSKU, res[1])
	case "short":
		return nil, fmt.Errorf("%w: sku %q has %s available, %s requested", ordersaga.ErrOutOfStock, res[1], res[2], res[3])
	case "hold":
		return nil, fmt.Errorf("%w: the client holds %s of sku %q's %s unsold units and asks %s more; a client may hold at most %s (%d%%) until its orders complete",
			ordersaga.ErrHoldLimit, res[2], res[1], res[5], res[3], res[4], s.holdShare)
	case "too_large":
		return nil, fmt.Errorf("reserve: sku %q: %w", res[1], ordersaga.ErrTotalTooLarge)
	}
	var lines []ordersaga.Line
	if err := json.Unmarshal([]byte(res[1]), &lines); err != nil {
		return nil, fmt.Errorf("reserve: decode lines: %w", err)
	}
	return lines, nil
}

// Reservation returns orderID's reservation; ENOTFOUND if it has none
// (not reserved yet, out of stock, or released before it was made).
func (s *Store) Reservation(ctx context.Context, orderID string) (ordersaga.Reservation, error) {
	h, err := redislua.ByOrder(ctx, s.rdb, s.ks, "reservation", orderID)
	if err != nil {
		return ordersaga.Reservation{}, err
	}
	r := ordersaga.Reservation{OrderID: h["order_id"], State: h["state"]}
	if err := json.Unmarshal([]byte(h["lines"]), &r.Lines); err != nil {
		return ordersaga.Reservation{}, fmt.Errorf("get reservation of %s: decode lines: %w", orderID, err)
	}
	r.TotalCents = ordersaga.Total(r.Lines)
	return r, nil
}

// Release implements ActivityStore.
func (s *Store) Release(ctx context.Context, key string) error {
	return s.settle(ctx, key, "release", events.InventoryReleased)
}

// Commit implements ActivityStore.
func (s *Store) Commit(ctx context.Context, key string) error {
	return s.settle(ctx, key, "commit", events.InventoryCommitted)
}

// settle releases or commits the reservation under key. The reservation's
// lines never change once written, so reading them first to name the keys
// the script touches is safe; the script re-checks them.
func (s *Store) settle(ctx context.Context, key, op, eventType string) error {
	rk := s.ks.Key("reservation", key)
	keys := []string{rk, s.ks.Outbox()}
	fields, err := s.rdb.HMGet(ctx, rk, "lines", "order_id").Result()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	raw, _ := fields[0].(string)
	orderID, _ := fields[1].(string)
	ev, err := redislua.StepEvent(ctx, events.SourceInventory, eventType, key, orderID, nil)
	if err != nil {
		return err
	}
	if raw != "" {
		var lines []ordersaga.Line
		if err := json.Unmarshal([]byte(raw), &lines); err != nil {
			return fmt.Errorf("%s: decode lines: %w", op, err)
		}
		for _, l := range lines {
			keys = append(keys, s.ks.Key("sku", l.SKU))
		}
	}
	if err := inventorySettle.Run(ctx, s.rdb, keys, op, ev).Err(); err != nil {
		return redislua.Error(op, err)
	}
	return nil
}

// mergeItems sums the quantities of items naming the same SKU, keeping the
// first occurrence's position.
func mergeItems(items []ordersaga.Item) []ordersaga.Item {
	out := make([]ordersaga.Item, 0, len(items))
	for _, it := range items {
		if i := slices.IndexFunc(out, func(o ordersaga.Item) bool { return o.SKU == it.SKU }); i >= 0 {
			out[i].Quantity += it.Quantity
			continue
		}
		out = append(out, it)
	}
	return out
}
