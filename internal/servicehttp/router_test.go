package servicehttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
)

func newRouter() *servicehttp.Router {
	r := servicehttp.NewRouter(token, quiet)
	r.Open(http.MethodGet, "/healthz", servicehttp.Healthz())
	r.Handle(http.MethodGet, "/things/{id}", func(req *http.Request) (any, error) {
		id, err := servicehttp.PathID(req, "id")
		if err != nil {
			return nil, err
		}
		if id == "boom" {
			return nil, errors.New("redis: connection pool exhausted")
		}
		return map[string]string{"id": id}, nil
	})
	r.Handle(http.MethodPut, "/things/{id}", func(req *http.Request) (any, error) {
		var body struct{ N int }
		return body, servicehttp.DecodeJSON(req, &body, 64)
	})
	return r
}

func call(h http.Handler, method, path, auth, body string) (*httptest.ResponseRecorder, servicehttp.Problem) {
	// A body starting with "!" is sent without its "!" and without a
	// Content-Type.
	raw, noType := strings.CutPrefix(body, "!")
	req := httptest.NewRequest(method, path, strings.NewReader(raw))
	if body != "" && !noType {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var p servicehttp.Problem
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	return rec, p
}

func TestRouterAnswersProblems(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		method, path, auth, body string
		status                   int
		code, field              string
	}{
		"found":                  {"GET", "/things/a", token, "", 200, "", ""},
		"open route, no token":   {"GET", "/healthz", "", "", 200, "", ""},
		"no token":               {"GET", "/things/a", "", "", 401, "unauthorized", ""},
		"wrong token":            {"GET", "/things/a", token + "x", "", 401, "unauthorized", ""},
		"bad id":                 {"GET", "/things/a%20b", token, "", 400, ordersaga.EINVALID, "id"},
		"unknown route":          {"GET", "/nothing", token, "", 404, servicehttp.CodeNoRoute, ""},
		"wrong method":           {"DELETE", "/things/a", token, "", 405, "method_not_allowed", ""},
		"internal error":         {"GET", "/things/boom", token, "", 500, ordersaga.EINTERNAL, ""},
		"unknown field":          {"PUT", "/things/a", token, `{"m":1}`, 400, ordersaga.EINVALID, "m"},
		"two values":             {"PUT", "/things/a", token, `{"n":1}{}`, 400, ordersaga.EINVALID, ""},
		"too large":              {"PUT", "/things/a", token, `{"n":` + strings.Repeat("1", 100) + `}`, 413, "too_large", ""},
		"not json":               {"PUT", "/things/a", token, `{`, 400, ordersaga.EINVALID, ""},
		"a valid body, accepted": {"PUT", "/things/a", token, `{"n":1}`, 200, "", ""},
		"no content type":        {"PUT", "/things/a", token, `!{"n":1}`, 415, "unsupported_media_type", ""},
		"duplicate key":          {"PUT", "/things/a", token, `{"n":1,"n":2}`, 400, ordersaga.EINVALID, "n"},
		"duplicate nested key":   {"PUT", "/things/a", token, `{"n":1,"x":[{"a":1,"a":1}]}`, 400, ordersaga.EINVALID, "a"},
		"dot id":                 {"GET", "/things/.", token, "", 400, ordersaga.EINVALID, "id"},
		"dot-dot id":             {"GET", "/things/..", token, "", 400, ordersaga.EINVALID, "id"},
		"escaped dot-dot id":     {"GET", "/things/%2E%2E", token, "", 400, ordersaga.EINVALID, "id"},
		"escaped dot id":         {"GET", "/things/%2e", token, "", 400, ordersaga.EINVALID, "id"},
		"dot-dot id, a write":    {"PUT", "/things/..", token, `{"n":1}`, 400, ordersaga.EINVALID, "id"},
		"dot-dot, no token":      {"GET", "/things/..", "", "", 400, ordersaga.EINVALID, "id"},
		"empty segment":          {"GET", "/things//", token, "", 404, servicehttp.CodeNoRoute, ""},
		"dot-dot elsewhere":      {"GET", "/x/../things/a", token, "", 404, servicehttp.CodeNoRoute, ""},
		"double slash":           {"GET", "//things/a", token, "", 404, servicehttp.CodeNoRoute, ""},
	}
	h := newRouter()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rec, p := call(h, tc.method, tc.path, tc.auth, tc.body)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			require.Empty(t, rec.Header().Get("Location"), "never a redirect")
			if tc.status == 200 {
				require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
				return
			}
			require.Equal(t, servicehttp.ProblemType, rec.Header().Get("Content-Type"))
			require.Equal(t, tc.code, p.Code)
			require.Equal(t, tc.field, p.Field)
			require.Equal(t, tc.status, p.Status)
			require.NotEmpty(t, p.Detail)
		})
	}
	rec, _ := call(h, "DELETE", "/things/a", token, "")
	require.Equal(t, "GET, PUT", rec.Header().Get("Allow"))
	rec, p := call(h, "GET", "/things/boom", token, "")
	require.Equal(t, "internal error", p.Detail, "details withheld: %s", rec.Body.String())
	rec, _ = call(h, "GET", "/things/a", "", "")
	require.Equal(t, "Bearer", rec.Header().Get("WWW-Authenticate"))
}

func TestRouterWithoutTokenIsOpen(t *testing.T) {
	t.Parallel()
	r := servicehttp.NewRouter("", quiet)
	r.Handle(http.MethodGet, "/x", func(*http.Request) (any, error) { return "ok", nil })
	rec, _ := call(r, "GET", "/x", "", "")
	require.Equal(t, 200, rec.Code)
}

func TestReadyzListsEveryCheck(t *testing.T) {
	t.Parallel()
	ok := servicehttp.Check{Name: "redis", Fn: func(context.Context) error { return nil }}
	down := servicehttp.Check{Name: "rabbitmq", Fn: func(context.Context) error { return errors.New("connection refused") }}

	rec, _ := call(servicehttp.Readyz([]servicehttp.Check{ok}), "GET", "/readyz", "", "")
	require.Equal(t, 200, rec.Code)
	require.JSONEq(t, `{"status":"ready","checks":{"redis":"ok"}}`, rec.Body.String())

	rec, p := call(servicehttp.Readyz([]servicehttp.Check{ok, down}), "GET", "/readyz", "", "")
	require.Equal(t, 503, rec.Code)
	require.Equal(t, "1", rec.Header().Get("Retry-After"))
	require.Equal(t, map[string]string{"redis": "ok", "rabbitmq": "connection refused"}, p.Checks)
}
