// Package timeline is the order timeline: a consumer of every domain event
// that keeps each order's events, deduplicated by event ID, and serves them
// in order. It owns the keyspace "timeline:" (<ks>events:{<order id>}, a
// sorted set by event time, and <ks>inbox:{<order id>}, the set of event IDs
// seen). The braces are a Redis Cluster hash tag: an order's two keys share
// a slot, and the orders spread over the cluster.
package timeline

import (
	"context"
	"fmt"
	"github.com/ordersaga/ordersaga"

	"github.com/redis/go-redis/v9"

	"github.com/ordersaga/ordersaga/internal/events"
)

// applyScript records an event once: the inbox check and the write are one
// atomic step.
var applyScript = redis.NewScript(`
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1`)

// Store keeps the timelines in Redis.
type Store struct {
	rdb redis.Cmdable
	ks  string
}

// NewStore returns the timeline store in keyspace ks (e.g. "timeline:").
func NewStore(rdb redis.Cmdable, ks string) *Store { return &Store{rdb: rdb, ks: ks} }

// key is the key of subject's record kind, tagged by the subject.
func (s *Store) key(kind, subject string) string { return s.ks + kind + ":{" + subject + "}" }

// Apply records ev (whose encoded form is raw) in its order's timeline. It
// returns false, and changes nothing, if the event ID was seen before.
func (s *Store) Apply(ctx context.Context, ev events.Event, raw []byte) (bool, error) {
	n, err := applyScript.Run(ctx, s.rdb, []string{s.key("inbox", ev.Subject), s.key("events", ev.Subject)},
		ev.ID, ev.Time.UnixMicro(), raw).Int()
	if err != nil {
		return false, fmt.Errorf("apply event %s: %w", ev.ID, err)
	}
	return n == 1, nil
}

// Events returns orderID's events in the order they happened (event time,
// then ID); none for an unknown order.
func (s *Store) Events(ctx context.Context, orderID string) ([]events.Event, error) {
	raws, err := s.rdb.ZRange(ctx, s.key("events", orderID), 0, -1).Result()
	if err != nil {
		// Redis down or slow: a dependency, not a bug (503, Retry-After).
		return nil, &ordersaga.Error{Code: ordersaga.EUNAVAILABLE, Message: "the timeline is unavailable",
			Err: fmt.Errorf("read timeline of %s: %w", orderID, err)}
	}
	out := make([]events.Event, 0, len(raws))
	for _, raw := range raws {
		ev, err := events.Decode([]byte(raw))
		if err != nil {
			return nil, fmt.Errorf("read timeline of %s: %w", orderID, err)
		}
		out = append(out, ev)
	}
	return out, nil
}
