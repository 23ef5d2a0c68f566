package servicehttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/ordersaga/ordersaga"
)

// DecodeJSON strictly decodes r's body into dst: a JSON media type (a body
// without Content-Type is 415 too), at most limit bytes, one JSON value, no
// unknown field, no key twice in an object. It returns a problem naming
// what is wrong.
func DecodeJSON(r *http.Request, dst any, limit int64) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return NewProblem(http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be application/json (Content-Type)")
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return NewProblem(http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body exceeds %d bytes", limit))
	}
	if err == nil {
		err = strictDecode(raw, dst)
	}
	if err == nil {
		return nil
	}
	p := NewProblem(http.StatusBadRequest, ordersaga.EINVALID, "invalid body: "+err.Error())
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		p.Field = strings.Trim(field, `"`)
	}
	var dup *duplicateKeyError
	if errors.As(err, &dup) {
		p.Field = dup.key
	}
	return p
}

// strictDecode decodes raw into dst: one value, no unknown field, no
// duplicate key.
func strictDecode(raw []byte, dst any) error {
	if err := checkDuplicateKeys(json.NewDecoder(bytes.NewReader(raw))); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("the body must hold exactly one JSON value")
	}
	return nil
}

type duplicateKeyError struct{ key string }

func (e *duplicateKeyError) Error() string {
	return fmt.Sprintf("key %q appears twice in an object", e.key)
}

// checkDuplicateKeys reads one JSON value from dec and fails on an object
// naming a key twice (encoding/json would keep the last one silently).
// Syntax errors are left to the decoder that follows.
func checkDuplicateKeys(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return nil
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil
			}
			key, _ := k.(string)
			if seen[key] {
				return &duplicateKeyError{key: key}
			}
			seen[key] = true
			if err := checkDuplicateKeys(dec); err != nil {
				return err
			}
		}
		_, _ = dec.Token()
	case json.Delim('['):
		for dec.More() {
			if err := checkDuplicateKeys(dec); err != nil {
				return err
			}
		}
		_, _ = dec.Token()
	}
	return nil
}
