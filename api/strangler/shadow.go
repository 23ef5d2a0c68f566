package strangler

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Shadow comparison results (the result label of
// ordersaga_shadow_comparisons_total).
const (
	resultSame    = "same"
	resultDiff    = "diff"
	resultSkipped = "skipped"
	resultFailed  = "failed"
)

// maxCompared bounds the body of each answer a shadow comparison keeps; a
// larger answer is not compared (skipped).
const maxCompared = 256 << 10

// maxLoggedBody bounds each body a diff logs.
const maxLoggedBody = 1 << 10

type shadowKey struct{}

// shadowOf reports whether ctx is a shadow call's, and its route.
func shadowOf(ctx context.Context) (string, bool) {
	name, ok := ctx.Value(shadowKey{}).(string)
	return name, ok
}

// answer is one side's answer, as far as a comparison needs it.
type answer struct {
	status    int
	header    http.Header
	body      bytes.Buffer
	truncated bool
}

func (a *answer) keep(b []byte) {
	if room := maxCompared - a.body.Len(); len(b) > room {
		a.truncated = true
		b = b[:max(room, 0)]
	}
	a.body.Write(b)
}

// shadowCall is a shadow route's call to ordersaga, made while the
// monolith answers and compared after the client has its answer.
type shadowCall struct {
	s      *Strangler
	route  Route
	path   string
	id     string
	legacy answer
	// legacyIn is closed once the monolith's answer is complete.
	legacyIn chan struct{}
}

// startShadow asks self what r asks, in the background, unless
// ShadowInFlight calls are in flight already (nil: skipped). The call
// outlives r (not its cancellation), bounded by ShadowTimeout.
// It carries the request's ID (id), so both show in the logs together.
func (s *Strangler) startShadow(r *http.Request, route Route, self http.Handler, id string) *shadowCall {
	select {
	case s.shadows <- struct{}{}:
	default:
		s.cfg.Metrics.compared(route.Prefix, resultSkipped)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.ShadowTimeout)
	ctx = context.WithValue(ctx, shadowKey{}, route.Prefix)
	req := r.Clone(ctx)
	req.Body, req.ContentLength = http.NoBody, 0
	req.Header.Set("X-Request-ID", id)
	sh := &shadowCall{s: s, route: route, path: r.URL.Path, id: id, legacyIn: make(chan struct{})}
	go func() {
		defer func() { <-s.shadows }()
		defer cancel()
		ours := &recorder{answer: answer{header: http.Header{}}}
		self.ServeHTTP(ours, req)
		if ours.status == 0 {
			ours.status = http.StatusOK
		}
		select {
		case <-sh.legacyIn:
			sh.compare(&ours.answer, ctx.Err() != nil)
		case <-ctx.Done():
			s.cfg.Metrics.compared(route.Prefix, resultFailed)
		}
	}()
	return sh
}

// wrap returns w, keeping what the monolith answers through it.
func (sh *shadowCall) wrap(w http.ResponseWriter) http.ResponseWriter {
	if sh == nil {
		return w
	}
	return &tee{ResponseWriter: w, a: &sh.legacy}
}

// legacyDone says the monolith's answer is complete.
func (sh *shadowCall) legacyDone() {
	if sh != nil {
		close(sh.legacyIn)
	}
}

// compare compares ordersaga's answer with the monolith's, counts the
// result and logs a difference with both bodies, truncated and redacted.
func (sh *shadowCall) compare(ours *answer, late bool) {
	theirs, name := &sh.legacy, sh.route.Prefix
	switch {
	case late:
		sh.s.cfg.Metrics.compared(name, resultFailed)
		return
	case theirs.truncated || ours.truncated || gatewayProblem(theirs):
		sh.s.cfg.Metrics.compared(name, resultSkipped)
		return
	case theirs.status == ours.status && sameBody(theirs.body.Bytes(), ours.body.Bytes(), sh.route.Ignore):
		sh.s.cfg.Metrics.compared(name, resultSame)
		return
	}
	sh.s.log.Warn("shadow answer differs", "route", name, "path", truncate(sh.path, 256), "request_id", sh.id,
		"legacy_status", theirs.status, "ordersaga_status", ours.status,
		"legacy_body", loggable(theirs.body.Bytes()), "ordersaga_body", loggable(ours.body.Bytes()))
	sh.s.cfg.Metrics.compared(name, resultDiff) // after the log line: a diff counted is a diff logged
}

// gatewayProblem reports whether a is the gateway's own problem about the
// monolith (it did not answer): nothing to compare.
func gatewayProblem(a *answer) bool {
	if !strings.HasPrefix(a.header.Get("Content-Type"), "application/problem+json") {
		return false
	}
	var p struct{ Code string }
	return json.Unmarshal(a.body.Bytes(), &p) == nil && strings.HasPrefix(p.Code, "legacy_")
}

// sameBody compares two bodies: as JSON values less the ignored fields
// when both are JSON, else byte for byte.
func sameBody(a, b []byte, ignore []string) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return bytes.Equal(a, b)
	}
	for _, p := range ignore {
		fields := strings.Split(p, ".")
		drop(va, fields)
		drop(vb, fields)
	}
	return reflect.DeepEqual(va, vb)
}

// drop deletes the field at path from v; through an array, from each
// element.
func drop(v any, path []string) {
	switch v := v.(type) {
	case map[string]any:
		if len(path) == 1 {
			delete(v, path[0])
			return
		}
		drop(v[path[0]], path[1:])
	case []any:
		for _, e := range v {
			drop(e, path)
		}
	}
}

// sensitive matches the JSON fields a logged body masks.
var sensitive = regexp.MustCompile(`(?i)pass|secret|token|auth|key|card|cvv|cvc|iban|account|ssn|email|phone|address|birth`)

// loggable returns a body fit for a log line: JSON with sensitive fields
// masked, cut to maxLoggedBody; anything else only by its size.
func loggable(b []byte) string {
	var v any
	if len(bytes.TrimSpace(b)) == 0 {
		return ""
	}
	if json.Unmarshal(b, &v) != nil {
		return "(not JSON, " + strconv.Itoa(len(b)) + " bytes)"
	}
	out, _ := json.Marshal(redact(v))
	return truncate(string(out), maxLoggedBody)
}

func redact(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if sensitive.MatchString(k) {
				v[k] = "[redacted]"
			} else {
				v[k] = redact(e)
			}
		}
	case []any:
		for i, e := range v {
			v[i] = redact(e)
		}
	}
	return v
}

// tee writes through to the client and keeps a copy of the answer.
type tee struct {
	http.ResponseWriter
	a *answer
}

func (t *tee) WriteHeader(status int) {
	if t.a.status == 0 {
		t.a.status = status
		t.a.header = t.ResponseWriter.Header().Clone()
	}
	t.ResponseWriter.WriteHeader(status)
}

func (t *tee) Write(b []byte) (int, error) {
	if t.a.status == 0 {
		t.WriteHeader(http.StatusOK)
	}
	t.a.keep(b)
	return t.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (the reverse proxy's flushes) reach
// the client's writer.
func (t *tee) Unwrap() http.ResponseWriter { return t.ResponseWriter }

// recorder keeps ordersaga's answer to a shadow call.
type recorder struct{ answer }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	r.keep(b)
	return len(b), nil
}

// Flush does nothing: the answer is kept whole.
func (r *recorder) Flush() {}

// truncate cuts s to at most n bytes on a UTF-8 boundary, marked with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
