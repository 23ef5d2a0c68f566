package codec_test

import (
	"bytes"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/ordersaga/ordersaga/internal/codec"
)

func key(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

func payload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	require.NoError(t, err)
	return p
}

func TestRoundTripHidesTheData(t *testing.T) {
	keys, err := codec.ParseKeys("k1:"+key(t), "")
	require.NoError(t, err)
	c := codec.New(keys)
	plain := payload(t, map[string]string{"payment_token": "tok_secret", "customer_id": "cust-42"})
	enc, err := c.Encode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	require.Equal(t, codec.Encoding, string(enc[0].Metadata[converter.MetadataEncoding]))
	require.Equal(t, "k1", string(enc[0].Metadata[codec.MetadataKeyID]))
	require.False(t, bytes.Contains(enc[0].Data, []byte("tok_secret")))
	require.False(t, bytes.Contains(enc[0].Data, []byte("cust-42")))
	dec, err := c.Decode(enc)
	require.NoError(t, err)
	require.Equal(t, plain.Data, dec[0].Data)
	require.Equal(t, plain.Metadata, dec[0].Metadata)
}

func TestRotationKeepsOldPayloadsReadable(t *testing.T) {
	k1, k2 := key(t), key(t)
	old, err := codec.ParseKeys("k1:"+k1, "")
	require.NoError(t, err)
	enc, err := codec.New(old).Encode([]*commonpb.Payload{payload(t, "x")})
	require.NoError(t, err)

	rotated, err := codec.ParseKeys("k1:"+k1+",k2:"+k2, "k2")
	require.NoError(t, err)
	require.Equal(t, "k2", rotated.CurrentID())
	dec, err := codec.New(rotated).Decode(enc)
	require.NoError(t, err, "old payloads decrypt with their key")
	require.Equal(t, `"x"`, string(dec[0].Data))
	fresh, err := codec.New(rotated).Encode([]*commonpb.Payload{payload(t, "y")})
	require.NoError(t, err)
	require.Equal(t, "k2", string(fresh[0].Metadata[codec.MetadataKeyID]), "new payloads use the current key")

	_, err = codec.New(old).Decode(fresh)
	require.ErrorContains(t, err, `unknown key "k2"`)
}

func TestTamperedPayloadIsRejected(t *testing.T) {
	keys, err := codec.ParseKeys("k1:"+key(t), "")
	require.NoError(t, err)
	enc, err := codec.New(keys).Encode([]*commonpb.Payload{payload(t, "x")})
	require.NoError(t, err)
	enc[0].Data[len(enc[0].Data)-1] ^= 1
	_, err = codec.New(keys).Decode(enc)
	require.ErrorContains(t, err, "decrypt")
}

func TestPlaintextIsRefusedUnlessAllowed(t *testing.T) {
	keys, err := codec.ParseKeys("k1:"+key(t), "")
	require.NoError(t, err)
	p := payload(t, "written before encryption was on")
	enc, err := codec.New(keys).Encode([]*commonpb.Payload{payload(t, "x")})
	require.NoError(t, err)

	_, err = codec.New(keys).Decode([]*commonpb.Payload{enc[0], p})
	require.ErrorIs(t, err, codec.ErrPlaintext)
	require.ErrorContains(t, err, `encoding "json/plain"`)
	require.ErrorContains(t, err, "--codec-allow-plaintext")

	keys.AllowPlaintext = true
	dec, err := codec.New(keys).Decode([]*commonpb.Payload{enc[0], p})
	require.NoError(t, err)
	require.Equal(t, `"x"`, string(dec[0].Data))
	require.Same(t, p, dec[1], "plaintext passes through unchanged when allowed")
}

func TestDataConverterRefusesPlaintext(t *testing.T) {
	keys, err := codec.ParseKeys("k1:"+key(t), "")
	require.NoError(t, err)
	dc := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), codec.New(keys))
	var s string
	err = dc.FromPayload(payload(t, "from an old history"), &s)
	require.ErrorIs(t, err, codec.ErrPlaintext, "a worker refuses an old history's plaintext input")

	keys.AllowPlaintext = true
	require.NoError(t, dc.FromPayload(payload(t, "from an old history"), &s))
	require.Equal(t, "from an old history", s)
}

func TestParseKeysErrors(t *testing.T) {
	for name, tc := range map[string]struct{ spec, current, want string }{
		"empty":           {"", "", "no codec keys"},
		"no id":           {":" + base64.StdEncoding.EncodeToString(make([]byte, 32)), "", "want id:base64key"},
		"short key":       {"k:" + base64.StdEncoding.EncodeToString(make([]byte, 16)), "", "want 32 bytes"},
		"not base64":      {"k:%%%", "", "illegal base64"},
		"unknown current": {"k:" + base64.StdEncoding.EncodeToString(make([]byte, 32)), "other", "not among the keys"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := codec.ParseKeys(tc.spec, tc.current)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

func TestRefIsStableAndKeyed(t *testing.T) {
	a, err := codec.ParseKeys("k1:"+key(t), "")
	require.NoError(t, err)
	b, err := codec.ParseKeys("k1:"+key(t), "")
	require.NoError(t, err)
	require.Equal(t, a.Ref("cust-42"), a.Ref("cust-42"))
	require.NotEqual(t, a.Ref("cust-42"), a.Ref("cust-43"))
	require.NotEqual(t, a.Ref("cust-42"), b.Ref("cust-42"), "another key, another reference")
	require.NotContains(t, a.Ref("cust-42"), "cust-42")
}

// TestRefsCoverEveryKey: after a rotation, a customer's sagas carry the
// reference of the key current when each started; Refs gives them all,
// the current key's first.
func TestRefsCoverEveryKey(t *testing.T) {
	k1, k2, k3 := key(t), key(t), key(t)
	before, err := codec.ParseKeys("k1:"+k1, "")
	require.NoError(t, err)
	after, err := codec.ParseKeys("k3:"+k3+",k1:"+k1+",k2:"+k2, "k2")
	require.NoError(t, err)
	only2, err := codec.ParseKeys("k2:"+k2, "")
	require.NoError(t, err)
	only3, err := codec.ParseKeys("k3:"+k3, "")
	require.NoError(t, err)
	require.Equal(t, []string{only2.Ref("c"), before.Ref("c"), only3.Ref("c")}, after.Refs("c"),
		"current (k2) first, then k1, k3")
	require.Equal(t, after.Ref("c"), after.Refs("c")[0])
	require.Equal(t, []string{before.Ref("c")}, before.Refs("c"))
}

// TestRefUsesADerivedKey pins the reference to HMAC-SHA256 under the key
// HKDF-SHA256 derives from the data key, and checks that it is not an HMAC
// under the data key itself.
func TestRefUsesADerivedKey(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i)
	}
	keys, err := codec.ParseKeys("k1:"+base64.StdEncoding.EncodeToString(raw), "")
	require.NoError(t, err)
	hmacHex := func(key []byte) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte("cust-42"))
		return "ref:" + hex.EncodeToString(m.Sum(nil)[:12])
	}
	derived, err := hkdf.Key(sha256.New, raw, nil, "ordersaga customer reference v1", 32)
	require.NoError(t, err)

	ref := keys.Ref("cust-42")
	require.Equal(t, hmacHex(derived), ref)
	require.NotEqual(t, hmacHex(raw), ref, "the data key is not the MAC key")
	again, err := codec.ParseKeys("k1:"+base64.StdEncoding.EncodeToString(raw), "")
	require.NoError(t, err)
	require.Equal(t, ref, again.Ref("cust-42"), "stable across processes with the same key")
}
