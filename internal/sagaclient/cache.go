package sagaclient

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/ordersaga/ordersaga/workflows"
)

const (
	// finishedCacheSize bounds how many finished sagas a Client keeps in
	// memory: each is its State and owner, a few KiB.
	finishedCacheSize = 10_000
	// finishedTTL bounds how long a finished saga is answered from memory.
	// A finished saga never changes, unless an operator resets it (a new run
	// starts) or the namespace's retention deletes it: either shows within
	// finishedTTL.
	finishedTTL = 5 * time.Minute
)

// finished is what a Client keeps of a finished saga.
type finished struct {
	owner string
	// state is the saga's final State; nil when its close event holds
	// none (terminated, timed out, or canceled before the State was
	// recorded there) and no query has answered yet.
	state *workflows.State
	at    time.Time
}

// finishedCache keeps finished sagas by order ID, least recently used out
// first, each for finishedTTL. It is safe for concurrent use.
type finishedCache struct {
	lru *lru.Cache[string, finished]
}

func newFinishedCache() *finishedCache {
	c, err := lru.New[string, finished](finishedCacheSize)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &finishedCache{lru: c}
}

func (c *finishedCache) get(orderID string) (finished, bool) {
	f, ok := c.lru.Get(orderID)
	if !ok {
		return finished{}, false
	}
	if time.Since(f.at) > finishedTTL {
		c.lru.Remove(orderID)
		return finished{}, false
	}
	return f, true
}

func (c *finishedCache) put(orderID string, f finished) {
	f.at = time.Now()
	c.lru.Add(orderID, f)
}
