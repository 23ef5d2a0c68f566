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
	// BearerKeys (key → client name) may call with
	// "Authorization: Bearer <key>".
	BearerKeys map[string]string
	// PathSecret, if set, lets requests under /<PathSecret>/ through without
	// a bearer key: a capability URL for a Web UI that cannot send one.
	// Whoever learns the URL can decode.
	PathSecret string
	// NoAuth lets every request through. Without it, and with no
	// BearerKeys and no PathSecret, every request is refused.
	NoAuth bool
	// MaxBodyBytes bounds a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
}

// NewHandler returns the codec server: the Temporal codec server protocol
// (POST /encode and /decode, also under a path prefix such as a namespace)
// behind authentication. It answers
//   - OPTIONS (CORS preflight): 204, without credentials;
//   - no or an unknown credential: 401 with WWW-Authenticate: Bearer;
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
	if !s.authenticate(w, r) {
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
	if s.secret != nil {
		first, _, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if _, ok := apikey.Match(first, s.secret); ok {
			return true
		}
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
