// Package contract checks HTTP exchanges with the API against its OpenAPI
// document (api.OpenAPI). The API's tests, fuzz targets and end-to-end tests
// run every request they send through a Checker, so the document cannot
// drift from what the API does: an undocumented status, field or header, or
// a limit the document does not state, fails them.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/api/strictjson"
)

// transportHeaders may be on any response without being documented: the
// HTTP server's own.
var transportHeaders = []string{"Content-Type", "Content-Length", "Date"}

func init() {
	for _, mt := range []string{"text/html", "text/javascript"} {
		openapi3filter.RegisterBodyDecoder(mt, openapi3filter.PlainBodyDecoder)
	}
}

// Checker checks exchanges against the API's OpenAPI document. It is safe
// for concurrent use.
type Checker struct {
	doc    *openapi3.T
	router routers.Router
	// methods lists, for each route template, the methods it serves.
	methods map[string][]string
}

// New loads and validates the API's OpenAPI document.
func New() (*Checker, error) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		return nil, fmt.Errorf("load the OpenAPI document: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("the OpenAPI document is not valid: %w", err)
	}
	// Route by path alone: the API is tested on whatever address it gets.
	routed := *doc
	routed.Servers = nil
	router, err := legacy.NewRouter(&routed)
	if err != nil {
		return nil, err
	}
	methods := map[string][]string{}
	for path, item := range doc.Paths.Map() {
		for m := range item.Operations() {
			methods[path] = append(methods[path], m)
		}
		slices.Sort(methods[path])
	}
	return &Checker{doc: doc, router: router, methods: methods}, nil
}

// Exchange is one request and the answer it got.
type Exchange struct {
	// Request is the request sent; its Body is not read: RequestBody holds
	// what was sent.
	Request     *http.Request
	RequestBody []byte
	Status      int
	Header      http.Header
	Body        []byte
}

// Check returns every way ex breaks the contract, joined; nil if it keeps
// it:
//   - the answer (status, headers, body) must be one the document gives for
//     the operation, and carry no header the document does not name;
//   - a request the document rejects must be refused (4xx), and one it
//     accepts must not be refused as invalid (400, 415): the document
//     states every limit the API enforces (but for the values of x-opaque
//     parameters, which only the API can tell valid);
//   - an unknown route answers a 404 problem, a method a route does not
//     serve a 405 problem naming the ones it does.
func (c *Checker) Check(ctx context.Context, ex Exchange) error { return c.check(ctx, ex, true) }

// CheckAnswer is Check without the rules on the request: it checks only
// that the answer is one the document gives. Fuzz targets use it, since
// encoding/json and JSON Schema differ at the edges (2.0 is an integer to
// JSON Schema, not to encoding/json).
func (c *Checker) CheckAnswer(ctx context.Context, ex Exchange) error { return c.check(ctx, ex, false) }

func (c *Checker) check(ctx context.Context, ex Exchange, request bool) error {
	req := ex.Request.Clone(ctx)
	req.Body = io.NopCloser(bytes.NewReader(ex.RequestBody))
	route, params, err := c.router.FindRoute(req)
	if err != nil || trailingSlash(req) {
		return c.checkUnrouted(req, ex)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:                openapi3filter.NoopAuthenticationFunc,
		RejectWhenRequestBodyNotSpecified: true,
		IncludeResponseStatus:             true,
		SkipSettingDefaults:               true,
		MultiError:                        true,
	}
	opts.WithCustomSchemaErrorFunc(schemaError)
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	reqErr := errors.Join(openapi3filter.ValidateRequest(ctx, in), unknownQuery(route, req), oneJSONValue(req, ex.RequestBody), uniqueKeys(req, ex.RequestBody))
	var errs []error
	switch {
	case !request:
	case reqErr != nil && ex.Status < 400:
		errs = append(errs, fmt.Errorf("the API accepted (%d) a request the contract rejects: %w", ex.Status, reqErr))
	case reqErr == nil && (ex.Status == http.StatusBadRequest || ex.Status == http.StatusUnsupportedMediaType) && !opaque(route, ex):
		errs = append(errs, fmt.Errorf("the API refused (%d: %s) a request the contract accepts", ex.Status, ex.Body))
	}
	// ValidateRequest has read the body; the answer's check reads it again.
	in.Request.Body = io.NopCloser(bytes.NewReader(ex.RequestBody))
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: ex.Status, Header: ex.Header,
		Body: io.NopCloser(bytes.NewReader(ex.Body)), Options: opts}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		errs = append(errs, fmt.Errorf("answer %d: %w", ex.Status, err))
	}
	if resp := route.Operation.Responses.Status(ex.Status); resp != nil && resp.Value != nil {
		errs = append(errs, undocumentedHeaders(ex.Header, resp.Value.Headers))
	}
	errs = append(errs, checkProblem(req, ex))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s %s breaks the contract: %w", ex.Request.Method, ex.Request.URL.RequestURI(), err)
	}
	return nil
}

// schemaError says where a value breaks its schema and how, without the
// schema itself.
func schemaError(err *openapi3.SchemaError) string {
	if err.Origin != nil { // the JSON Schema 2020-12 validator's causes
		return err.Origin.Error()
	}
	v, _ := json.Marshal(err.Value)
	if len(v) > 80 {
		v = append(v[:77], "..."...)
	}
	return fmt.Sprintf("at /%s: %s (value %s)", strings.Join(err.JSONPointer(), "/"), err.Reason, v)
}

// checkUnrouted checks the answer to a request the document has no
// operation for: a 405 problem if the path is one it knows, with Allow
// naming its methods, else a 404 problem.
func (c *Checker) checkUnrouted(req *http.Request, ex Exchange) error {
	want, allowed := http.StatusNotFound, ""
	for path, methods := range c.methods {
		if trailingSlash(req) {
			break
		}
		probe := req.Clone(req.Context())
		probe.Method = methods[0]
		if route, _, err := c.router.FindRoute(probe); err == nil && route.Path == path {
			want, allowed = http.StatusMethodNotAllowed, strings.Join(methods, ", ")
		}
	}
	var errs []error
	if ex.Status != want {
		errs = append(errs, fmt.Errorf("answered %d, want %d: %s", ex.Status, want, ex.Body))
	}
	if want == http.StatusMethodNotAllowed && ex.Header.Get("Allow") != allowed {
		errs = append(errs, fmt.Errorf("the Allow header is %q, want %q", ex.Header.Get("Allow"), allowed))
	}
	problem := c.doc.Components.Schemas["Problem"].Value
	var v any
	if err := json.Unmarshal(ex.Body, &v); err != nil {
		errs = append(errs, fmt.Errorf("the body is not JSON: %w", err))
	} else if err := problem.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		errs = append(errs, fmt.Errorf("the body is not a Problem: %w", err))
	}
	if ct := ex.Header.Get("Content-Type"); ct != "application/problem+json" {
		errs = append(errs, fmt.Errorf("the Content-Type is %q, want application/problem+json", ct))
	}
	errs = append(errs, undocumentedHeaders(ex.Header, openapi3.Headers{
		"X-Request-ID": nil, "Allow": nil}), checkProblem(req, ex))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s %s (no such operation) breaks the contract: %w", ex.Request.Method, ex.Request.URL.RequestURI(), err)
	}
	return nil
}

// trailingSlash reports whether req's path ends in a slash the document's
// paths do not have: the router matches it to the path without, the API
// does not (no redirects), so it is a path the document does not know.
func trailingSlash(req *http.Request) bool {
	return len(req.URL.Path) > 1 && strings.HasSuffix(req.URL.Path, "/")
}

// opaque reports whether ex is a problem naming a parameter the document
// marks x-opaque: one whose valid values only the API knows (a page token
// it issued), so a well-formed value may still be refused.
func opaque(route *routers.Route, ex Exchange) bool {
	var p api.Problem
	if json.Unmarshal(ex.Body, &p) != nil || p.Field == "" {
		return false
	}
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, ref := range params {
			if prm := ref.Value; prm != nil && prm.Name == p.Field && prm.Extensions["x-opaque"] == true {
				return true
			}
		}
	}
	return false
}

// unknownQuery reports query parameters the operation does not declare, and
// declared ones given more than once: the API refuses both.
func unknownQuery(route *routers.Route, req *http.Request) error {
	declared := map[string]bool{}
	for _, params := range []openapi3.Parameters{route.PathItem.Parameters, route.Operation.Parameters} {
		for _, p := range params {
			if p.Value != nil && p.Value.In == openapi3.ParameterInQuery {
				declared[p.Value.Name] = true
			}
		}
	}
	var errs []error
	for name, values := range req.URL.Query() {
		switch {
		case !declared[name]:
			errs = append(errs, fmt.Errorf("query parameter %q is not declared", name))
		case len(values) > 1:
			errs = append(errs, fmt.Errorf("query parameter %q is given %d times", name, len(values)))
		}
	}
	return errors.Join(errs...)
}

// oneJSONValue reports a JSON body that is not one JSON value (the
// validator reads the first value and ignores the rest).
func oneJSONValue(req *http.Request, body []byte) error {
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if len(body) == 0 || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) || json.Valid(body) {
		return nil
	}
	return errors.New("the body is not one JSON value")
}

// uniqueKeys reports a JSON body with a key twice in one object: the
// document says every key of a body is given once (RFC 8259 leaves it to
// the reader; the API refuses it).
func uniqueKeys(req *http.Request, body []byte) error {
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if len(body) == 0 || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil
	}
	if key, err := strictjson.DuplicateKey(body); err == nil && key != "" {
		return fmt.Errorf("the body gives key %s twice", key)
	}
	return nil
}

// undocumentedHeaders reports headers of the answer that documented does
// not name (besides the transport's own).
func undocumentedHeaders(got http.Header, documented openapi3.Headers) error {
	var errs []error
	for name := range got {
		if slices.Contains(transportHeaders, name) {
			continue
		}
		found := false
		for doc := range documented {
			found = found || http.CanonicalHeaderKey(doc) == name
		}
		if !found {
			errs = append(errs, fmt.Errorf("header %s is not documented for this answer", name))
		}
	}
	return errors.Join(errs...)
}

// checkProblem checks what a problem document says of its exchange: its
// status, path, request ID and type agree with the answer's.
func checkProblem(req *http.Request, ex Exchange) error {
	if ex.Header.Get("Content-Type") != "application/problem+json" {
		return nil
	}
	var p api.Problem
	if err := json.Unmarshal(ex.Body, &p); err != nil {
		return fmt.Errorf("problem: %w", err)
	}
	var errs []error
	if p.Status != ex.Status {
		errs = append(errs, fmt.Errorf("problem status %d in a %d answer", p.Status, ex.Status))
	}
	if p.Instance != req.URL.Path {
		errs = append(errs, fmt.Errorf("problem instance %q for path %q", p.Instance, req.URL.Path))
	}
	// A replayed answer (Idempotency-Key) is the first one, request_id and
	// all; the header is the retry's.
	if id := ex.Header.Get(api.RequestIDHeader); p.RequestID != id && ex.Header.Get("Idempotent-Replayed") != "true" {
		errs = append(errs, fmt.Errorf("problem request_id %q, header %q", p.RequestID, id))
	}
	if p.Type != "urn:ordersaga:problem:"+p.Code {
		errs = append(errs, fmt.Errorf("problem type %q does not name its code %q", p.Type, p.Code))
	}
	return errors.Join(errs...)
}

// Transport returns a RoundTripper that sends each request through base
// (http.DefaultTransport if nil) and fails the round trip, with an error
// naming every breach, when the exchange breaks the contract.
func (c *Checker) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		var sent []byte
		if req.Body != nil {
			var err error
			if sent, err = io.ReadAll(req.Body); err != nil {
				return nil, err
			}
			req.Body.Close()
			req.Body = io.NopCloser(bytes.NewReader(sent))
		}
		resp, err := base.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		ex := Exchange{Request: req, RequestBody: sent, Status: resp.StatusCode, Header: resp.Header, Body: body}
		if err := c.Check(req.Context(), ex); err != nil {
			return nil, err
		}
		return resp, nil
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
