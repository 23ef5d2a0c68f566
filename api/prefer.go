package api

import (
	"net/http"
	"strconv"
	"strings"
)

// Prefer (RFC 7240) headers.
const (
	PreferHeader            = "Prefer"
	PreferenceAppliedHeader = "Preference-Applied"
)

// MaxPreferWait is the longest wait, in seconds, POST /v1/orders honours
// (Prefer: wait=N); a longer one is honoured as this.
const MaxPreferWait = 10

// waitPreference returns the wait preference of h's Prefer fields, in whole
// seconds, at most MaxPreferWait; 0 when there is none, when it is 0, or
// when it is malformed: RFC 7240 asks a server to ignore a preference it
// cannot read. Preference names are case-insensitive and, given twice, the
// first counts.
func waitPreference(h http.Header) int {
	for _, field := range h.Values(PreferHeader) {
		for _, pref := range splitUnquoted(field, ',') {
			// preference = token [ BWS "=" BWS word ] *( OWS ";" [ OWS parameter ] )
			name, value, hasValue := strings.Cut(splitUnquoted(pref, ';')[0], "=")
			if !strings.EqualFold(strings.TrimSpace(name), "wait") {
				continue
			}
			if !hasValue {
				return 0
			}
			return waitSeconds(strings.TrimSpace(value))
		}
	}
	return 0
}

// waitSeconds reads a wait preference's value, delta-seconds (1*DIGIT),
// bare or quoted: 0 if it is not one, at most MaxPreferWait.
func waitSeconds(v string) int {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if v == "" || strings.TrimLeft(v, "0123456789") != "" {
		return 0
	}
	v = strings.TrimLeft(v, "0")
	if len(v) > 2 {
		return MaxPreferWait
	}
	n, _ := strconv.Atoi(v) // "" (all zeros) is 0
	return min(n, MaxPreferWait)
}

// splitUnquoted splits s at each sep outside a quoted-string (a backslash
// quotes the next character inside one). An unclosed quote runs to the end.
func splitUnquoted(s string, sep byte) []string {
	var parts []string
	quoted, escaped, from := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case !quoted && c == sep:
			parts = append(parts, s[from:i])
			from = i + 1
		}
	}
	return append(parts, s[from:])
}
