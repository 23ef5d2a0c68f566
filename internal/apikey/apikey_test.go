package apikey_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/internal/apikey"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	keys := map[string]string{"key-of-the-shop-0001": "shop", "key-of-the-ops-00002": "ops"}
	for name, tc := range map[string]struct {
		token, client string
		ok            bool
	}{
		"first key":       {"key-of-the-shop-0001", "shop", true},
		"second key":      {"key-of-the-ops-00002", "ops", true},
		"unknown":         {"key-of-the-shop-0002", "", false},
		"prefix of a key": {"key-of-the-shop", "", false},
		"empty":           {"", "", false},
	} {
		t.Run(name, func(t *testing.T) {
			client, ok := apikey.Match(tc.token, keys)
			require.Equal(t, tc.ok, ok)
			require.Equal(t, tc.client, client)
		})
	}
	_, ok := apikey.Match("anything", nil)
	require.False(t, ok, "no keys match nothing")
}
