package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"

	"github.com/ordersaga/ordersaga/internal/apikey"
)

// DefaultMaxBodyBytes is the largest request body the codec server reads
// unless told otherwise.
const DefaultMaxBodyBytes = 4 << 20

// ServerConfig configures NewHandler, the codec server.
type ServerConfig struct {
	// Keys encrypt and decrypt; required. Keys.AllowPlaintext decides
	// whether /decode passes plaintext payloads through.
	Keys *Keyring
	// Origins (the Web UIs') may call from a browser: their requests get
	// CORS headers, credentials allowed.
	Origins []string
	// BearerKeys (key → client name) may decode, calling with
	// "Authorization: Bearer <key>".
	BearerKeys map[string]string
	// EncodeKeys (key → client name) may encode: POST /encode turns any
	// payload into one the workers accept as genuine, so it is a right of
	// its own, off when empty. A key that should also decode is listed in
	// BearerKeys as well. NoAuth and PathSecret never grant it.
	EncodeKeys map[string]string
	// PathSecret, if set, lets requests under /<PathSecret>/ through without
	// a bearer key: a capability URL for a Web UI that cannot send one.
	// Whoever learns the URL can decode.
	PathSecret string
	// NoAuth lets every /decode through. Without it, and with no
	// BearerKeys and no PathSecret, every /decode is refused.
	NoAuth bool
	// MaxBodyBytes bounds a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
}

// NewHandler returns the codec server: the Temporal codec server protocol
// (POST /encode and /decode, also under a path prefix such as a namespace)
// behind authentication, decoding and encoding being separate rights. It
// answers
//   - OPTIONS (CORS preflight): 204, without credentials;
//   - no or an unknown credential: 401 with WWW-Authenticate: Bearer;
//   - /encode with a credential that may not encode (a decode key, the
//     path secret, NoAuth), or with encoding off: 403;
//   - a body over MaxBodyBytes: 413;
//   - a payload that does not decode (unknown key, tampered, plaintext
//     refused): 400 naming the cause.
//
// Errors are text/plain, as the protocol's own. Every response carries
// Vary: Origin. The handler is safe for concurrent use.
func NewHandler(cfg ServerConfig) http.Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	s := &server{cfg: cfg, protocol: converter.NewPayloadCodecHTTPHandler(New(cfg.Keys))}
	if cfg.PathSecret != "" {
		s.secret = map[string]string{cfg.PathSecret: "web-ui"}
	}
	return s
}

type server struct {
	cfg      ServerConfig
	secret   map[string]string
	protocol http.Handler
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(s.cfg.Origins, origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		// Authorization-Extras: the Web UI sends its ID token there when it
		// passes its access token.
		w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization, Authorization-Extras")
	}
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/encode") {
		if !s.mayEncode(w, r) {
			return
		}
	} else if !s.authenticate(w, r) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		if tooLarge := new(http.MaxBytesError); errors.As(err, &tooLarge) {
			http.Error(w, fmt.Sprintf("codec server: request body over %d bytes", tooLarge.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "codec server: read request: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	s.protocol.ServeHTTP(w, r)
}

// authenticate lets the request through, or answers 401 and returns false.
func (s *server) authenticate(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.NoAuth {
		return true
	}
	if s.pathSecret(r) {
		return true
	}
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ordersaga codec server"`)
		http.Error(w, "codec server: a key is required: Authorization: Bearer <key>", http.StatusUnauthorized)
		return false
	}
	if _, ok := apikey.Match(token, s.cfg.BearerKeys); !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ordersaga codec server", error="invalid_token"`)
		http.Error(w, "codec server: the key is not valid", http.StatusUnauthorized)
		return false
	}
	return true
}

// mayEncode lets an /encode through for an encode key, or answers 401 (no
// or an unknown key) or 403 (a key or capability that may only decode, or
// encoding off) and returns false.
func (s *server) mayEncode(w http.ResponseWriter, r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && token != "" {
		if _, ok := apikey.Match(token, s.cfg.EncodeKeys); ok {
			return true
		}
	}
	if len(s.cfg.EncodeKeys) == 0 {
		http.Error(w, "codec server: encoding is off (--codec-encode-keys names who may encode)", http.StatusForbidden)
		return false
	}
	if _, decoder := apikey.Match(token, s.cfg.BearerKeys); decoder || s.cfg.NoAuth || s.pathSecret(r) {
		http.Error(w, "codec server: this credential may decode, not encode", http.StatusForbidden)
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="ordersaga codec server"`)
	http.Error(w, "codec server: an encode key is required: Authorization: Bearer <key>", http.StatusUnauthorized)
	return false
}

// pathSecret reports whether r's first path segment is the path secret.
func (s *server) pathSecret(r *http.Request) bool {
	if s.secret == nil {
		return false
	}
	first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	_, ok := apikey.Match(first, s.secret)
	return ok
}
