// Package apikey matches bearer keys against configured keys, for every
// listener that takes them (the API, the codec server).
package apikey

import (
	"crypto/sha256"
	"crypto/subtle"
)

// Match looks token up among keys (key → client name) and returns the
// client's name and whether token is one of the keys. It runs in constant
// time with respect to the keys' contents: every key is compared, through
// fixed-length digests, so neither a key's length nor its matching prefix
// shows in the timing.
func Match(token string, keys map[string]string) (string, bool) {
	want := sha256.Sum256([]byte(token))
	found, name := 0, ""
	for key, n := range keys {
		have := sha256.Sum256([]byte(key))
		if subtle.ConstantTimeCompare(want[:], have[:]) == 1 {
			found, name = 1, n
		}
	}
	return name, found == 1
}
