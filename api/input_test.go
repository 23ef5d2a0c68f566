package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api/contract"
)

// TestBodyWithoutContentTypeIs415 ensures a body sent with no media type
// (as a page on another site may send one without a CORS preflight) is
// refused 415, starting no saga, on every route that takes a body.
func TestBodyWithoutContentTypeIs415(t *testing.T) {
	t.Parallel()
	sagas := &fakeSagas{owners: map[string]string{"o1": "anonymous"}}
	h := newAPI(sagas)
	for _, r := range [][3]string{
		{"POST", "/v1/orders", validOrder},
		{"PUT", "/v1/inventory/widget", `{"available":5,"price_cents":250}`},
		{"POST", "/v1/orders/o1/cancel", `{"reason":"no"}`},
		{"POST", "/v1/orders/o1/compensations/charge_payment/resolve", `{"reason":"fixed"}`},
	} {
		req := httptest.NewRequest(r[0], r[1], strings.NewReader(r[2]))
		sent := req.Clone(context.Background())
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusUnsupportedMediaType, rec.Code, "%s %s: %s", r[0], r[1], rec.Body)
		require.Contains(t, rec.Body.String(), "Content-Type: application/json")
		require.NoError(t, checker.Check(context.Background(), contract.Exchange{Request: sent, RequestBody: []byte(r[2]),
			Status: rec.Code, Header: rec.Result().Header, Body: rec.Body.Bytes()}))
	}
	require.Empty(t, sagas.started)
}

// TestDuplicateJSONKeysAre400 ensures a key given twice in one object, at
// any depth, is refused 400 naming it, instead of the last one winning.
func TestDuplicateJSONKeysAre400(t *testing.T) {
	t.Parallel()
	tests := map[string]struct{ body, field string }{
		"top level": {`{"customer_id":"c1","items":[{"sku":"widget","quantity":1}],"payment_token":"tok_ok","payment_token":"tok_declined"}`,
			"payment_token"},
		"in a line": {`{"customer_id":"c1","items":[{"sku":"widget","quantity":1},{"sku":"a","quantity":1,"quantity":9}],"payment_token":"tok_ok"}`,
			"items[1].quantity"},
		"twice the same value": {`{"customer_id":"c1","customer_id":"c1","items":[{"sku":"widget","quantity":1}],"payment_token":"tok_ok"}`,
			"customer_id"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sagas := &fakeSagas{}
			rec, p := send(t, newAPI(sagas), "POST", "/v1/orders", tc.body)
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			require.Equal(t, tc.field, p.Field)
			require.Contains(t, p.Detail, "duplicate key")
			require.Empty(t, sagas.started)
		})
	}
	// The same key in two objects is no duplicate.
	rec, _ := send(t, newAPI(&fakeSagas{}), "POST", "/v1/orders",
		`{"customer_id":"c1","items":[{"sku":"a","quantity":1},{"sku":"b","quantity":2}],"payment_token":"tok_ok"}`)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
}
