//go:build !slim

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ordersaga/ordersaga/internal/codec"
)

func codecKeysSpec(t *testing.T) string {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	return "k1:" + base64.StdEncoding.EncodeToString(raw)
}

// runCodecServer runs `ordersaga codec-server args...` on a free address
// until the test ends and returns its base URL once it accepts connections.
func runCodecServer(t *testing.T, args ...string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"codec-server", "--codec-addr", addr, "--log-level", "error"}, args...), io.Discard, io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	require.Eventually(t, func() bool {
		resp, err := http.Post("http://"+addr+"/decode", "application/json", nil)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "codec server at %s", addr)
	return "http://" + addr
}

// decodeRequest posts an encrypted payload to url/decode with the given
// Authorization header ("" for none) and returns the status.
func decodeRequest(t *testing.T, keysSpec, url, authorization string) int {
	t.Helper()
	keys, err := codec.ParseKeys(keysSpec, "")
	require.NoError(t, err)
	p, err := converter.GetDefaultDataConverter().ToPayload("cust-42")
	require.NoError(t, err)
	enc, err := codec.New(keys).Encode([]*commonpb.Payload{p})
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: enc})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, url+"/decode", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		require.Contains(t, string(out), base64.StdEncoding.EncodeToString([]byte(`"cust-42"`)))
	}
	return resp.StatusCode
}

func TestCodecServerTakesAdminAndCodecKeys(t *testing.T) {
	const admin, own = "admin-key-0123456789", "codec-key-0123456789"
	keys := codecKeysSpec(t)
	url := runCodecServer(t, "--codec-keys", keys, "--admin-api-keys", "ops:"+admin, "--codec-auth-keys", "ui:"+own)
	require.Equal(t, http.StatusOK, decodeRequest(t, keys, url, "Bearer "+admin), "an admin API key")
	require.Equal(t, http.StatusOK, decodeRequest(t, keys, url, "Bearer "+own), "a codec key")
	require.Equal(t, http.StatusUnauthorized, decodeRequest(t, keys, url, ""))
	require.Equal(t, http.StatusUnauthorized, decodeRequest(t, keys, url, "Bearer codec-key-0123456780"))
}

func TestCodecServerNeedsAKeyOrInsecureNoAuth(t *testing.T) {
	keys := codecKeysSpec(t)
	err := run(context.Background(), []string{"codec-server", "--codec-keys", keys, "--codec-addr", "127.0.0.1:0"}, io.Discard, io.Discard)
	require.ErrorContains(t, err, "codec-server: no key may call it: give --codec-auth-keys or --admin-api-keys")
	require.NotContains(t, err.Error(), "\n")

	url := runCodecServer(t, "--codec-keys", keys, "--insecure-no-auth")
	require.Equal(t, http.StatusOK, decodeRequest(t, keys, url, ""), "explicitly open")
}

func TestCodecAuthKeysAreValidated(t *testing.T) {
	err := run(context.Background(), []string{"codec-server", "--codec-keys", codecKeysSpec(t), "--codec-auth-keys", "ui:short"}, io.Discard, io.Discard)
	require.ErrorContains(t, err, "--codec-auth-keys: want client:key with a key of at least 16 characters")
}

// TestReplayOfPlaintextHistoryNeedsAllowPlaintext replays a history recorded
// before encryption was turned on: with the keys it fails (the input does not
// decode, so the workflow ends at once and its history no longer matches:
// the SDK reports a nondeterminism error) until --codec-allow-plaintext lets
// it through. This is how a worker meets an older saga, and how to list
// those still to migrate.
func TestReplayOfPlaintextHistoryNeedsAllowPlaintext(t *testing.T) {
	old := filepath.Join("..", "..", "testdata", "histories", "v1", "success.json")
	keys := codecKeysSpec(t)
	var out bytes.Buffer
	err := run(context.Background(), []string{"replay", "--codec-keys", keys, old}, &out, io.Discard)
	require.ErrorContains(t, err, "1 of 1 histories do not replay")

	out.Reset()
	require.NoError(t, run(context.Background(), []string{"replay", "--codec-keys", keys, "--codec-allow-plaintext", old}, &out, io.Discard))
	require.Contains(t, out.String(), "ok    "+old)
}
