// Package servicehttp is what the services' HTTP APIs and their callers
// share: JSON in and out, RFC 9457 problem+json errors mapped from domain
// error codes in one place, a bearer token between the gateway and the
// services, readiness checks, and the caller's client (a timeout per call,
// one retry of idempotent reads, a circuit breaker per service, built by
// NewBreaker as the payment provider's client builds its own).
package servicehttp

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/ordersaga/ordersaga"
)

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Code is the machine-readable error code (ordersaga.E*).
	Code string `json:"code"`
	// Field names the request field that is wrong, if one is.
	Field string `json:"field,omitempty"`
	// Checks reports each readiness check (on /readyz).
	Checks map[string]string `json:"checks,omitempty"`
}

// ProblemType is the media type of a Problem.
const ProblemType = "application/problem+json"

// statusByCode maps domain error codes to HTTP statuses: the one place
// where that happens, for the gateway and the services alike.
var statusByCode = map[string]int{
	ordersaga.EINVALID:     http.StatusBadRequest,
	ordersaga.ENOTFOUND:    http.StatusNotFound,
	ordersaga.ECONFLICT:    http.StatusConflict,
	ordersaga.EUNAVAILABLE: http.StatusServiceUnavailable,
	ordersaga.EINTERNAL:    http.StatusInternalServerError,
}

// Status returns the HTTP status of a domain error code; 500 for an
// unknown one.
func Status(code string) int {
	if s, ok := statusByCode[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// NewProblem returns the problem of status with code and detail.
func NewProblem(status int, code, detail string) *Problem {
	return &Problem{Type: "urn:ordersaga:problem:" + code, Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
}

// ErrorProblem turns err into a problem: a domain error keeps its code,
// message and field; any other error is internal, logged, and its details
// withheld.
func ErrorProblem(r *http.Request, err error, log *slog.Logger) *Problem {
	var e *ordersaga.Error
	if !errors.As(err, &e) || e.Code == ordersaga.EINTERNAL {
		log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		return NewProblem(http.StatusInternalServerError, ordersaga.EINTERNAL, "internal error")
	}
	p := NewProblem(Status(e.Code), e.Code, e.Message)
	p.Field = e.Field
	return p
}

// WriteProblem answers p for request r.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	p.Instance = r.URL.Path
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	write(w, ProblemType, p.Status, p)
}

// WriteJSON answers v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	write(w, "application/json", status, v)
}

func write(w http.ResponseWriter, contentType string, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
