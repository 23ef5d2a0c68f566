package codec_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/ordersaga/ordersaga/internal/codec"
)

const (
	uiOrigin  = "http://localhost:8233"
	callerKey = "codec-key-0123456789"
)

// body is the codec protocol's JSON of payloads.
func body(t *testing.T, payloads ...*commonpb.Payload) []byte {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	return b
}

// encrypted returns a /decode request body holding v encrypted with keys.
func encrypted(t *testing.T, keys *codec.Keyring, v any) []byte {
	t.Helper()
	enc, err := codec.New(keys).Encode([]*commonpb.Payload{payload(t, v)})
	require.NoError(t, err)
	return body(t, enc...)
}

// payloadsOf reads the payloads of a 200 answer.
func payloadsOf(t *testing.T, rec *httptest.ResponseRecorder) []*commonpb.Payload {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(rec.Body.Bytes(), &out))
	return out.GetPayloads()
}

func post(h http.Handler, path string, body []byte, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func newServer(t *testing.T, cfg codec.ServerConfig) (http.Handler, *codec.Keyring) {
	t.Helper()
	keys, err := codec.ParseKeys("k1:"+key(t), "")
	require.NoError(t, err)
	cfg.Keys = keys
	cfg.Origins = []string{uiOrigin}
	return codec.NewHandler(cfg), keys
}

func TestCodecServerAuthentication(t *testing.T) {
	t.Parallel()
	h, keys := newServer(t, codec.ServerConfig{BearerKeys: map[string]string{callerKey: "ops"}, PathSecret: "s3cret-capability"})
	body := encrypted(t, keys, "cust-42")
	for name, tc := range map[string]struct {
		path   string
		header []string
		status int
		wwwAut string
	}{
		"no credential":          {"/decode", nil, http.StatusUnauthorized, `Bearer realm="ordersaga codec server"`},
		"unknown key":            {"/decode", []string{"Authorization", "Bearer codec-key-0123456780"}, http.StatusUnauthorized, `error="invalid_token"`},
		"not a bearer":           {"/decode", []string{"Authorization", "Basic " + callerKey}, http.StatusUnauthorized, "Bearer"},
		"empty bearer":           {"/decode", []string{"Authorization", "Bearer "}, http.StatusUnauthorized, "Bearer"},
		"key":                    {"/decode", []string{"Authorization", "Bearer " + callerKey}, http.StatusOK, ""},
		"key, namespace prefix":  {"/default/decode", []string{"Authorization", "Bearer " + callerKey}, http.StatusOK, ""},
		"path secret":            {"/s3cret-capability/decode?preserveStorageRefs=true", nil, http.StatusOK, ""},
		"wrong path secret":      {"/s3cret-capabilitx/decode", nil, http.StatusUnauthorized, "Bearer"},
		"path secret not first":  {"/x/s3cret-capability/decode", nil, http.StatusUnauthorized, "Bearer"},
		"path secret as a query": {"/decode?s3cret-capability", nil, http.StatusUnauthorized, "Bearer"},
	} {
		t.Run(name, func(t *testing.T) {
			rec := post(h, tc.path, body, tc.header...)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			require.Contains(t, rec.Header().Values("Vary"), "Origin")
			if tc.status == http.StatusOK {
				require.Contains(t, rec.Body.String(), "payloads")
				require.NotContains(t, rec.Body.String(), codec.Encoding, "decoded")
				return
			}
			require.Contains(t, rec.Header().Get("WWW-Authenticate"), tc.wwwAut)
			require.NotContains(t, rec.Body.String(), "payloads")
		})
	}
}

func TestCodecServerWithoutKeysRefusesEveryone(t *testing.T) {
	t.Parallel()
	h, keys := newServer(t, codec.ServerConfig{})
	rec := post(h, "/decode", encrypted(t, keys, "x"), "Authorization", "Bearer anything-at-all-0000")
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	rec = post(h, "//decode", encrypted(t, keys, "x"))
	require.Equal(t, http.StatusUnauthorized, rec.Code, "an empty path secret is no secret")

	open, keys := newServer(t, codec.ServerConfig{NoAuth: true})
	require.Equal(t, http.StatusOK, post(open, "/decode", encrypted(t, keys, "x")).Code, "NoAuth lets everyone in")
}

func TestCodecServerPreflightNeedsNoCredential(t *testing.T) {
	t.Parallel()
	h, _ := newServer(t, codec.ServerConfig{BearerKeys: map[string]string{callerKey: "ops"}})
	for origin, allowed := range map[string]bool{uiOrigin: true, "https://evil.example": false} {
		req := httptest.NewRequest(http.MethodOptions, "/decode", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusNoContent, rec.Code, origin)
		require.Contains(t, rec.Header().Values("Vary"), "Origin")
		if !allowed {
			require.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"), origin)
			continue
		}
		require.Equal(t, origin, rec.Header().Get("Access-Control-Allow-Origin"))
		require.Equal(t, "true", rec.Header().Get("Access-Control-Allow-Credentials"))
		for _, h := range []string{"Authorization", "Content-Type", "X-Namespace"} {
			require.Contains(t, rec.Header().Get("Access-Control-Allow-Headers"), h)
		}
	}
	// The answer to the request itself carries CORS too, or the browser
	// drops it.
	rec := post(h, "/decode", []byte(`{"payloads":[]}`), "Origin", uiOrigin, "Authorization", "Bearer "+callerKey)
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, uiOrigin, rec.Header().Get("Access-Control-Allow-Origin"))
}

func TestCodecServerBodyLimit(t *testing.T) {
	t.Parallel()
	h, keys := newServer(t, codec.ServerConfig{BearerKeys: map[string]string{callerKey: "ops"}})
	body := encrypted(t, keys, "x")
	// Pad a valid body with JSON whitespace to exactly the limit: accepted.
	atLimit := append(body, bytes.Repeat([]byte(" "), codec.DefaultMaxBodyBytes-len(body))...)
	require.Len(t, atLimit, 4<<20)
	rec := post(h, "/decode", atLimit, "Authorization", "Bearer "+callerKey)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	rec = post(h, "/decode", append(atLimit, ' '), "Authorization", "Bearer "+callerKey)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	require.Contains(t, rec.Body.String(), "over 4194304 bytes")
	require.Contains(t, rec.Header().Values("Vary"), "Origin")

	rec = post(h, "/decode", append(atLimit, ' '))
	require.Equal(t, http.StatusUnauthorized, rec.Code, "authentication comes before the body")
}

func TestCodecServerRefusesPlaintextUnlessAllowed(t *testing.T) {
	t.Parallel()
	h, keys := newServer(t, codec.ServerConfig{BearerKeys: map[string]string{callerKey: "ops"}})
	plain := body(t, payload(t, "cust-42"))

	rec := post(h, "/decode", plain, "Authorization", "Bearer "+callerKey)
	require.Equal(t, http.StatusBadRequest, rec.Code)
	require.Contains(t, rec.Body.String(), "not encrypted")

	keys.AllowPlaintext = true
	rec = post(h, "/decode", plain, "Authorization", "Bearer "+callerKey)
	require.Equal(t, `"cust-42"`, string(payloadsOf(t, rec)[0].GetData()), "passed through")
}

// TestCodecServerEncodesOnlyForEncodeKeys is finding 3: a decode-only key
// could POST /encode and forge inputs the workers took as genuine.
// Encoding is a right of its own, off unless some key has it.
func TestCodecServerEncodesOnlyForEncodeKeys(t *testing.T) {
	t.Parallel()
	const encoderKey = "encoder-key-0123456789"
	h, keys := newServer(t, codec.ServerConfig{BearerKeys: map[string]string{callerKey: "ops"},
		EncodeKeys: map[string]string{encoderKey: "starter"}, PathSecret: "s3cret-capability"})
	plain := body(t, payload(t, "cust-42"))
	rec := post(h, "/default/encode", plain, "Authorization", "Bearer "+encoderKey)
	dec, err := codec.New(keys).Decode(payloadsOf(t, rec))
	require.NoError(t, err)
	require.Equal(t, `"cust-42"`, string(dec[0].GetData()))

	for name, tc := range map[string]struct {
		path   string
		header []string
		status int
	}{
		"a decode key":          {"/encode", []string{"Authorization", "Bearer " + callerKey}, http.StatusForbidden},
		"the path secret":       {"/s3cret-capability/encode", nil, http.StatusForbidden},
		"no key":                {"/encode", nil, http.StatusUnauthorized},
		"an unknown key":        {"/encode", []string{"Authorization", "Bearer nope-0123456789"}, http.StatusUnauthorized},
		"an encode key, decode": {"/decode", []string{"Authorization", "Bearer " + encoderKey}, http.StatusUnauthorized},
	} {
		rec := post(h, tc.path, plain, tc.header...)
		require.Equal(t, tc.status, rec.Code, "%s: %s", name, rec.Body.String())
		require.NotContains(t, rec.Body.String(), "payloads", name)
	}

	off, _ := newServer(t, codec.ServerConfig{BearerKeys: map[string]string{callerKey: "ops"}, NoAuth: true})
	rec = post(off, "/encode", plain, "Authorization", "Bearer "+callerKey)
	require.Equal(t, http.StatusForbidden, rec.Code)
	require.Contains(t, rec.Body.String(), "encoding is off")
	require.Equal(t, http.StatusForbidden, post(off, "/encode", plain).Code, "NoAuth opens decoding only")
}
