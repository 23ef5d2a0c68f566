// Package redislua is what the services' Redis stores share: keyspaces (a
// service's key prefix, and possibly its own Redis), Lua scripts loaded from
// a service's embedded files, the mapping of a script's error replies to
// domain errors, and the encoding of the events a script appends to the
// service's outbox. Each service's store makes every state change one Lua
// script, atomic, keyed by the saga step's idempotency key, which doubles as
// the barrier that makes repeats no-ops and refuses actions whose
// compensation already ran.
package redislua

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/events"
)

// Script returns the script lua/<name>.lua of fsys. It panics if the file
// is missing: scripts are embedded at build time, so that is a build defect.
func Script(fsys embed.FS, name string) *redis.Script {
	src, err := fsys.ReadFile("lua/" + name + ".lua")
	if err != nil {
		panic(err)
	}
	return redis.NewScript(string(src))
}

// Error turns a script's error reply ("CODE message", CODE one of NOTFOUND,
// CONFLICT, COMPENSATED, INVALID) into a domain error; other errors
// (network, timeouts) are wrapped with op as they are and stay retryable.
func Error(op string, err error) error {
	var rerr redis.Error
	if !errors.As(err, &rerr) {
		return fmt.Errorf("%s: %w", op, err)
	}
	code, msg, _ := strings.Cut(rerr.Error(), " ")
	switch code {
	case "NOTFOUND":
		return &ordersaga.Error{Code: ordersaga.ENOTFOUND, Message: op + ": " + msg}
	case "CONFLICT":
		return &ordersaga.Error{Code: ordersaga.ECONFLICT, Message: op + ": " + msg}
	case "COMPENSATED":
		return fmt.Errorf("%s: %s: %w", op, msg, ordersaga.ErrCompensated)
	case "INVALID":
		return &ordersaga.Error{Code: ordersaga.EINVALID, Message: op + ": " + msg}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// Keyspace is a service's key prefix, e.g. "{inventory}:" (see NewKeyspace).
type Keyspace string

// NewKeyspace returns the keyspace of service name under prefix:
// "<prefix>{<name>}:". The braces are a Redis Cluster hash tag: every key of
// the keyspace hashes to one slot, so one script may touch any of them (a
// record, its barrier, the order index, the outbox stream, its relay's
// lease, the stock of several SKUs). A keyspace thus lives on one master;
// the services' keyspaces spread over the cluster's masters. The prefix
// stays outside the tag, so DeletePrefix(prefix) finds every key.
func NewKeyspace(prefix, name string) Keyspace {
	return Keyspace(prefix + "{" + name + "}:")
}

// Key returns the key of parts joined by ":" in the keyspace.
func (k Keyspace) Key(parts ...string) string {
	return string(k) + strings.Join(parts, ":")
}

// Outbox is the key of the keyspace's outbox stream: every state change
// appends its events there in the same script, and a relay publishes them.
func (k Keyspace) Outbox() string { return k.Key("outbox") }

// OrderIndex is the key of an order's index in the keyspace: the step key
// of the order's record, set by the script that writes the record.
func (k Keyspace) OrderIndex(orderID string) string { return k.Key("by-order", orderID) }

// ByOrder returns the hash <keyspace><record>:<step key> that orderID's
// index names; an ENOTFOUND error "order <id> has no <record>" when it has
// none.
func ByOrder(ctx context.Context, rdb redis.Cmdable, ks Keyspace, record, orderID string) (map[string]string, error) {
	key, err := rdb.Get(ctx, ks.OrderIndex(orderID)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, ordersaga.Errorf(ordersaga.ENOTFOUND, "order %s has no %s", orderID, record)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s of %s: %w", record, orderID, err)
	}
	h, err := rdb.HGetAll(ctx, ks.Key(record, key)).Result()
	if err != nil {
		return nil, fmt.Errorf("get %s of %s: %w", record, orderID, err)
	}
	return h, nil
}

// StepEvent returns the JSON of an event for the saga step keyed stepKey
// ("<workflow id>/<step>"), for a script to append to the outbox. With nil
// data the event's data is {"order_id": orderID}. The event carries the
// trace context of ctx (the activity's span), so its publication and its
// consumers join the saga's trace.
func StepEvent(ctx context.Context, source, typ, stepKey, orderID string, data any) (string, error) {
	wf := stepKey
	if i := strings.LastIndex(stepKey, "/"); i >= 0 {
		wf = stepKey[:i]
	}
	if data == nil {
		data = map[string]any{"order_id": orderID}
	}
	ev, err := events.New(source, typ, stepKey, wf, orderID, time.Now(), data)
	if err != nil {
		return "", err
	}
	ev.SetTraceContext(ctx)
	b, err := json.Marshal(ev)
	return string(b), err
}

// DeletePrefix deletes every key that starts with prefix (a whole run's or
// test's keyspaces), scanning rather than blocking Redis with KEYS; on a
// Redis Cluster, every master is scanned.
func DeletePrefix(ctx context.Context, rdb redis.Cmdable, prefix string) error {
	return ForEachNode(ctx, rdb, func(ctx context.Context, node redis.Cmdable) error {
		iter := node.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		// One key per DEL (a batch could span hash slots), 1,000 DELs per
		// round trip.
		pipe := node.Pipeline()
		for iter.Next(ctx) {
			pipe.Del(ctx, iter.Val())
			if pipe.Len() == 1000 {
				if _, err := pipe.Exec(ctx); err != nil {
					return err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		_, err := pipe.Exec(ctx)
		return err
	})
}
