// Package ttlcache is a bounded, least-recently-used cache whose entries
// also expire a fixed time after they were put. It keeps no goroutine: an
// expired entry is dropped when it is next read, or pushed out by newer
// ones.
package ttlcache

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache maps K to V. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	lru *lru.Cache[K, entry[V]]
	ttl time.Duration
}

type entry[V any] struct {
	v  V
	at time.Time
}

// New returns a cache of at most size entries (size ≥ 1), each answered
// for ttl after it was put.
func New[K comparable, V any](size int, ttl time.Duration) *Cache[K, V] {
	c, err := lru.New[K, entry[V]](size)
	if err != nil {
		panic(err) // only for a size below 1: a programming error
	}
	return &Cache[K, V]{lru: c, ttl: ttl}
}

// Get returns key's value, if it was put less than the TTL ago.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	e, ok := c.lru.Get(key)
	if !ok {
		var zero V
		return zero, false
	}
	if time.Since(e.at) > c.ttl {
		c.lru.Remove(key)
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put sets key's value, which expires the TTL from now.
func (c *Cache[K, V]) Put(key K, v V) { c.lru.Add(key, entry[V]{v: v, at: time.Now()}) }

// Remove drops key.
func (c *Cache[K, V]) Remove(key K) { c.lru.Remove(key) }
