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
	"github.com/ordersaga/ordersaga/activities"
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
// available, reserved, committed, price_cents, version), <ks>reservation:<saga
// step key> (hash: state, order_id, lines), <ks>by-order:<order id> (the
// step key of the order's reservation) and the outbox stream <ks>outbox.
type Store struct {
	rdb redis.Cmdable
	ks  redislua.Keyspace
}

var _ activities.InventoryStore = (*Store)(nil)

// NewStore returns the inventory store in keyspace ks of rdb.
func NewStore(rdb redis.Cmdable, ks redislua.Keyspace) *Store { return &Store{rdb: rdb, ks: ks} }

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

// Reserve implements activities.InventoryStore. Items naming the same SKU
// twice are merged.
func (s *Store) Reserve(ctx context.Context, key, orderID string, items []ordersaga.Item) ([]ordersaga.Line, error) {
	merged := mergeItems(items)
	ev, err := redislua.StepEvent(ctx, events.SourceInventory, events.InventoryReserved, key, orderID, nil)
	if err != nil {
		return nil, err
	}
	keys := []string{s.ks.Key("reservation", key), s.ks.Outbox(), s.ks.OrderIndex(orderID)}
	args := []any{orderID, ev, key}
	for _, it := range merged {
		if it.Quantity <= 0 {
			return nil, ordersaga.Invalid("quantity", "sku %q: quantity must be positive, got %d", it.SKU, it.Quantity)
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

// Release implements activities.InventoryStore.
func (s *Store) Release(ctx context.Context, key string) error {
	return s.settle(ctx, key, "release", events.InventoryReleased)
}

// Commit implements activities.InventoryStore.
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
