package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga"
	"github.com/ordersaga/ordersaga/api/strictjson"
)

// Limits on requests.
const (
	maxLines    = 100
	maxQuantity = 10000
)

// decodeJSON strictly decodes the request body into dst: JSON media type
// (a missing Content-Type is 415), size-limited, no key twice in an object,
// unknown fields rejected, exactly one JSON value. Errors are
// problems naming what is wrong.
func (s *server) decodeJSON(c *gin.Context, dst any) error {
	// A body without a media type is refused too: a browser sends one
	// without a CORS preflight only as text/plain (or none), so a page on
	// another site cannot place orders.
	ct := c.GetHeader("Content-Type")
	if ct == "" {
		return statusProblem(http.StatusUnsupportedMediaType, "the body needs Content-Type: application/json")
	}
	if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return statusProblem(http.StatusUnsupportedMediaType, "the body must be application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		return decodeProblem(err, s.cfg.MaxBodyBytes)
	}
	if field, err := strictjson.DuplicateKey(body); err == nil && field != "" {
		p := statusProblem(http.StatusBadRequest, fmt.Sprintf("duplicate key %q: each key may appear once in an object", field))
		p.Field = field
		return p
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeProblem(err, s.cfg.MaxBodyBytes)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return statusProblem(http.StatusBadRequest, "the body must hold exactly one JSON value")
	}
	// encoding/json matches names regardless of case; the API does not.
	var raw any
	_ = json.Unmarshal(body, &raw) // decoded above: valid JSON
	if field := inexactField(raw, reflect.TypeOf(dst)); field != "" {
		p := statusProblem(http.StatusBadRequest, fmt.Sprintf("unknown field %q", field))
		p.Field = field
		return p
	}
	return nil
}

// inexactField returns the first object key in v (sorted, depth first) that
// is not exactly the JSON name of a field of t: one that encoding/json
// matched to a field only regardless of case.
func inexactField(v any, t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, _ := v.(map[string]any)
		fields := map[string]reflect.Type{}
		for _, f := range reflect.VisibleFields(t) {
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); f.IsExported() && name != "-" {
				fields[cmp.Or(name, f.Name)] = f.Type
			}
		}
		for _, key := range slices.Sorted(maps.Keys(obj)) {
			ft, ok := fields[key]
			if !ok {
				return key
			}
			if inner := inexactField(obj[key], ft); inner != "" {
				return inner
			}
		}
	case reflect.Slice, reflect.Array:
		list, _ := v.([]any)
		for _, e := range list {
			if inner := inexactField(e, t.Elem()); inner != "" {
				return inner
			}
		}
	}
	return ""
}

func decodeProblem(err error, limit int64) *Problem {
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typ      *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return statusProblem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the body exceeds %d bytes", limit))
	case errors.Is(err, io.EOF):
		return statusProblem(http.StatusBadRequest, "the body is empty; a JSON object is required")
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return statusProblem(http.StatusBadRequest, "the body is not valid JSON: "+err.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		p := statusProblem(http.StatusBadRequest, fmt.Sprintf("%s must be a %s, not a JSON %s", field, jsonKind(typ.Type.Kind().String()), typ.Value))
		p.Field = field
		return p
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		p := statusProblem(http.StatusBadRequest, fmt.Sprintf("unknown field %q", field))
		p.Field = field
		return p
	}
	return statusProblem(http.StatusBadRequest, "the body could not be decoded: "+err.Error())
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"), strings.HasPrefix(goKind, "float"):
		return "number"
	case goKind == "slice", goKind == "array":
		return "array"
	case goKind == "struct", goKind == "map":
		return "object"
	}
	return goKind
}

// validation collects every invalid field of a request.
type validation struct {
	errs []FieldError
}

func (v *validation) add(field, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Field: field, Detail: fmt.Sprintf(format, args...)})
}

func (v *validation) id(field, value string) {
	var e *ordersaga.Error
	if errors.As(ordersaga.CheckID(field, value), &e) {
		v.add(field, "%s", e.Message)
	}
}

func (v *validation) intRange(field string, value, lo, hi int64) {
	if value < lo || value > hi {
		v.add(field, "%s must be between %d and %d, got %d", field, lo, hi, value)
	}
}

// problem returns nil if nothing is invalid, else a 400 naming the first
// invalid field and listing them all.
func (v *validation) problem() error {
	if len(v.errs) == 0 {
		return nil
	}
	p := statusProblem(http.StatusBadRequest, v.errs[0].Detail)
	p.Field = v.errs[0].Field
	if len(v.errs) > 1 {
		p.Errors = v.errs
	}
	return p
}

// param returns the ID-shaped path parameter name; if it is not valid it
// answers 400 and returns false.
func (s *server) param(c *gin.Context, name string) (string, bool) {
	var v validation
	value := c.Param(name)
	v.id(name, value)
	if err := v.problem(); err != nil {
		s.fail(c, err)
		return "", false
	}
	return value, true
}

// bind decodes the body into req and validates it; on any problem it
// answers it and returns false.
func (s *server) bind(c *gin.Context, req interface{ Validate() error }) bool {
	err := s.decodeJSON(c, req)
	if err == nil {
		err = req.Validate()
	}
	if err != nil {
		s.fail(c, err)
		return false
	}
	return true
}

func fieldf(format string, args ...any) string { return fmt.Sprintf(format, args...) }
