package services_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/services/inventory"
	"github.com/ordersaga/ordersaga/services/order"
)

// BenchmarkWaitReplicas measures what wait_replicas=1 costs each store
// script on a 3-master Redis Cluster with a replica per master: one saga
// step's script (reserve, create order), sequential, with and without the
// WAIT after it.
//
//	go test ./services/ -run '^$' -bench WaitReplicas -benchtime 2000x
func BenchmarkWaitReplicas(b *testing.B) {
	ctx := context.Background()
	c, err := redistest.StartCluster(ctx, redistest.ClusterConfig{Masters: 3, ReplicasPerMaster: 1, NodeTimeout: time.Second})
	require.NoError(b, err)
	defer c.Stop()
	for _, q := range []string{"", "&wait_replicas=1"} {
		rdb, err := redislua.NewClient(c.URL + q)
		require.NoError(b, err)
		defer rdb.Close()
		name := "wait=0"
		if q != "" {
			name = "wait=1"
		}
		inv, orders := inventory.NewStore(rdb, redislua.NewKeyspace(name, "inventory")), order.NewStore(rdb, redislua.NewKeyspace(name, "order"))
		_, err = inv.Put(ctx, "sku", 1<<40, 1)
		require.NoError(b, err)
		items := []ordersaga.Item{{SKU: "sku", Quantity: 1}}
		b.Run("reserve/"+name, func(b *testing.B) {
			for i := range b.N {
				if _, err := inv.Reserve(ctx, fmt.Sprint("k", i), fmt.Sprint("o", i), items); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("create-order/"+name, func(b *testing.B) {
			for i := range b.N {
				if err := orders.Create(ctx, fmt.Sprint("k", i), ordersaga.Order{ID: fmt.Sprint("o", i), CustomerID: "c", Items: items}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
