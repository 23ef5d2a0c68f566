package redislua_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/redislua"
)

// TestNewClientPicksTheClientByTheURL ensures a URL with addr= parameters
// gives a cluster client seeded with every address, any other URL a plain
// client, and wait_replicas is taken out of the URL before go-redis sees it.
func TestNewClientPicksTheClientByTheURL(t *testing.T) {
	c, err := redislua.NewClient("redis://127.0.0.1:6379/2")
	require.NoError(t, err)
	defer c.Close()
	require.IsType(t, &redis.Client{}, c)
	require.Equal(t, 2, c.(*redis.Client).Options().DB)
	require.Zero(t, redislua.WaitReplicas(c))

	cc, err := redislua.NewClient("redis://:pw@127.0.0.1:7001?addr=127.0.0.1:7002&addr=127.0.0.1:7003&wait_replicas=1&wait_timeout=50ms")
	require.NoError(t, err)
	defer cc.Close()
	require.IsType(t, &redis.ClusterClient{}, cc)
	opts := cc.(*redis.ClusterClient).Options()
	require.Equal(t, []string{"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"}, opts.Addrs)
	require.Equal(t, "pw", opts.Password)
	require.Equal(t, 1, redislua.WaitReplicas(cc))
}

// TestNewClientErrorsKeepThePasswordOut ensures a refused URL's error does
// not repeat the URL.
func TestNewClientErrorsKeepThePasswordOut(t *testing.T) {
	for _, u := range []string{
		"redis://:s3cret@127.0.0.1:7001?addr=127.0.0.1:7002&wait_replicas=x",
		"redis://:s3cret@127.0.0.1:7001?addr=127.0.0.1:7002&nosuch=1",
		"nope://:s3cret@host",
	} {
		_, err := redislua.NewClient(u)
		require.Error(t, err, u)
		require.NotContains(t, err.Error(), "s3cret")
	}
}
