package sagaclient

import (
	"time"

	"github.com/ordersaga/ordersaga/internal/ttlcache"
	"github.com/ordersaga/ordersaga/workflows"
)

const (
	// finishedCacheSize bounds how many finished sagas a Client keeps in
	// memory: each is its State and owner, a few KiB.
	finishedCacheSize = 10_000
	// FinishedTTL bounds how long a finished saga is answered from memory.
	// A finished saga never changes, unless an operator resets it (a new run
	// starts) or the namespace's retention deletes it: either shows within
	// FinishedTTL.
	FinishedTTL = 5 * time.Minute
)

// finished is what a Client keeps of a finished saga.
type finished struct {
	owner string
	// state is the saga's final State; nil when its close event holds
	// none (terminated, timed out, or canceled before the State was
	// recorded there) and no query has answered yet.
	state *workflows.State
}

// finishedCache keeps finished sagas by order ID, least recently used out
// first, each for FinishedTTL. It is safe for concurrent use.
type finishedCache = ttlcache.Cache[string, finished]

func newFinishedCache() *finishedCache {
	return ttlcache.New[string, finished](finishedCacheSize, FinishedTTL)
}
