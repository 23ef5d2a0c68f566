package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/internal/servicehttp"
)

// Problem is an RFC 9457 problem details document: the services' own
// (code, detail, field, checks), and, for invalid input, every invalid
// field.
type Problem struct {
	servicehttp.Problem
	// Errors lists every invalid field when there are several.
	Errors []FieldError `json:"errors,omitempty"`
	// RequestID is the request's ID (X-Request-ID), as logged.
	RequestID string `json:"request_id,omitempty"`
}

// FieldError is one invalid request field.
type FieldError struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// codeByStatus names the problems the HTTP layer raises itself.
var codeByStatus = map[int]string{
	http.StatusBadRequest:            ordersaga.EINVALID,
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              ordersaga.ENOTFOUND,
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusConflict:              ordersaga.ECONFLICT,
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusUnprocessableEntity:   "idempotency_key_mismatch",
	http.StatusTooManyRequests:       CodeOverloaded,
	http.StatusInternalServerError:   ordersaga.EINTERNAL,
	http.StatusServiceUnavailable:    ordersaga.EUNAVAILABLE,
}

// codeProblem is a problem with its own code, not its status's.
func codeProblem(status int, code, detail string) *Problem {
	return &Problem{Problem: *servicehttp.NewProblem(status, code, detail)}
}

func statusProblem(status int, detail string) *Problem {
	code := codeByStatus[status]
	if code == "" {
		code = "error"
	}
	return &Problem{Problem: *servicehttp.NewProblem(status, code, detail)}
}

// errorProblem turns any error into a problem. Internal errors are logged and
// their details withheld.
func (s *server) errorProblem(c *gin.Context, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	code := ordersaga.ErrorCode(err)
	status := servicehttp.Status(code)
	if code == ordersaga.EINTERNAL {
		s.deps.Log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path, "request_id", requestID(c), "error", err)
		return statusProblem(status, "internal error")
	}
	var e *ordersaga.Error
	errors.As(err, &e)
	if code == ordersaga.EUNAVAILABLE {
		s.deps.Log.Warn("dependency unavailable", "path", c.Request.URL.Path, "request_id", requestID(c), "error", err)
	}
	p = statusProblem(status, e.Message)
	p.Field = e.Field
	return p
}

func (p *Problem) Error() string { return p.Detail }

func (s *server) fail(c *gin.Context, err error) { s.problem(c, s.errorProblem(c, err)) }

func (s *server) problem(c *gin.Context, p *Problem) {
	p.Instance = c.Request.URL.Path
	p.RequestID = requestID(c)
	if p.Status == http.StatusServiceUnavailable && c.Writer.Header().Get("Retry-After") == "" {
		c.Header("Retry-After", "1")
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}
