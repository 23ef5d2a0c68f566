//go:build !slim

package main

import (
	"testing"

	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// TestDevEndToEndOnRedisCluster runs the end-to-end saga suite with
// --redis-url set to a 3-master Redis Cluster (go-redis's addr= form): every
// service's scripts, its outbox relay and lease, the timeline, the API's
// idempotency records, rate limiter and fair share run on the cluster.
func TestDevEndToEndOnRedisCluster(t *testing.T) {
	redistest.OnCluster(t, TestDevEndToEnd)
}
