//go:build !slim

package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The provider refuses to listen openly without a secret key, before it
// connects to anything.
func TestProviderRefusesOpenListenerWithoutKey(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), []string{"payment-provider", "--provider-addr", ":0", "--redis-url", "redis://127.0.0.1:1/0"},
		io.Discard, io.Discard)
	require.ErrorContains(t, err, "payment-provider: refusing to listen on :0 without --provider-secret-key")
	err = run(context.Background(), []string{"payment-provider", "--provider-addr", ":0", "--provider-secret-key", "short",
		"--redis-url", "redis://127.0.0.1:1/0"}, io.Discard, io.Discard)
	require.ErrorContains(t, err, "--provider-secret-key: want at least 16 characters")
}

// TestCodecServerEncodeNeedsAnEncodeKey: `codec-server` gives /encode only
// to --codec-encode-keys; an admin or codec key gets 403 there.
func TestCodecServerEncodeNeedsAnEncodeKey(t *testing.T) {
	const admin, encoder = "admin-key-0123456789", "encoder-key-0123456789"
	keys := codecKeysSpec(t)
	url := runCodecServer(t, "--codec-keys", keys, "--admin-api-keys", "ops:"+admin, "--codec-encode-keys", "starter:"+encoder)
	for key, want := range map[string]int{admin: http.StatusForbidden, encoder: http.StatusOK} {
		req, err := http.NewRequest(http.MethodPost, url+"/encode", nil)
		require.NoError(t, err)
		req.Body = io.NopCloser(strings.NewReader(`{"payloads":[]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, key)
	}
	require.Equal(t, http.StatusUnauthorized, decodeRequest(t, keys, url, "Bearer "+encoder), "an encode key does not decode")
}
