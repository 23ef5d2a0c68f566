package fairshare

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
)

// TestShareOverTheWindow ensures a share counts the client's and everyone's
// admitted orders over the window, counts the asking client among the
// clients, and forgets orders older than the window.
func TestShareOverTheWindow(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	now := time.Unix(1_000_000, 0)
	s := New(rdb, prefix, Config{Window: 3 * time.Second, Bucket: time.Second})
	s.now = func() time.Time { return now }
	ctx := context.Background()
	for range 8 {
		require.NoError(t, s.Admitted(ctx, "flood"))
	}
	now = now.Add(time.Second)
	require.NoError(t, s.Admitted(ctx, "flood"))
	require.NoError(t, s.Admitted(ctx, "polite"))

	polite, err := s.Share(ctx, "polite")
	require.NoError(t, err)
	require.Equal(t, Share{Mine: 1, Total: 10, Clients: 2}, polite)
	require.True(t, polite.Below())
	flood, err := s.Share(ctx, "flood")
	require.NoError(t, err)
	require.False(t, flood.Below())
	newcomer, err := s.Share(ctx, "new")
	require.NoError(t, err)
	require.Equal(t, Share{Mine: 0, Total: 10, Clients: 3}, newcomer, "a client with none yet counts itself")
	require.True(t, newcomer.Below())

	now = now.Add(2 * time.Second) // the first bucket left the window
	flood, err = s.Share(ctx, "flood")
	require.NoError(t, err)
	require.Equal(t, Share{Mine: 1, Total: 2, Clients: 2}, flood)
	require.False(t, flood.Below(), "exactly its fair share is not below it")

	alone := Share{Mine: 5, Total: 5, Clients: 1}
	require.False(t, alone.Below(), "a client alone is never below its share")
	require.False(t, Share{Clients: 1}.Below(), "nothing admitted: no share to be below")
}
