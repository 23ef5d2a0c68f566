package main

import (
	"net/http"
	"slices"

	"go.temporal.io/sdk/converter"

	"github.com/ordersaga/ordersaga/internal/codec"
)

// codecHandler serves the codec server protocol (POST /encode, /decode)
// with CORS for the given origins, so the Web UI can decode payloads.
func codecHandler(keys *codec.Keyring, origins []string) http.Handler {
	h := converter.NewPayloadCodecHTTPHandler(codec.New(keys))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if origin := r.Header.Get("Origin"); origin != "" && slices.Contains(origins, origin) {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-Namespace, Authorization")
		}
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.ServeHTTP(w, r)
	})
}
