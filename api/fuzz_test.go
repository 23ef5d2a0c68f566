package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/ordersaga/ordersaga/api"
)

// FuzzCreateOrder feeds arbitrary bodies to POST /v1/orders: no input may
// make the API panic or answer 5xx, every answer is one the OpenAPI
// contract gives (a rejection is a problem document), and an accepted
// order satisfies every limit.
// Seeds: testdata/fuzz/FuzzCreateOrder. Run: go test -fuzz FuzzCreateOrder ./api
func FuzzCreateOrder(f *testing.F) {
	for _, seed := range []string{validOrder, ``, `{}`, `[]`, `null`, `{"customer_id":1}`,
		`{"customer_id":"c","items":[{"sku":"a","quantity":1e9}],"payment_token":"t"}`,
		`{"customer_id":"c","items":[{"sku":"a","quantity":-1}],"payment_token":"t"}`,
		`{"Customer_ID":"c","items":[{"sku":"a","quantity":1}],"payment_token":"t"}`} {
		f.Add([]byte(seed), "application/json")
	}
	h := newAPI(&fakeSagas{})
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		rec, ex, _ := serve(h, "POST", "/v1/orders", string(body), "Content-Type", contentType)
		if rec.Code >= 500 {
			t.Fatalf("status %d for body %q: %s", rec.Code, body, rec.Body)
		}
		if err := checker.CheckAnswer(context.Background(), ex); err != nil {
			t.Fatal(err)
		}
		if rec.Code == http.StatusAccepted {
			var req api.CreateOrderRequest
			if err := json.Unmarshal(body, &req); err != nil {
				t.Fatalf("accepted a body that does not decode: %q", body)
			}
			if err := req.Validate(); err != nil {
				t.Fatalf("accepted an invalid order %q: %v", body, err)
			}
		}
	})
}

// FuzzPutStock does the same for PUT /v1/inventory/{sku}, path included.
func FuzzPutStock(f *testing.F) {
	f.Add("widget", []byte(`{"available":1,"price_cents":100}`))
	f.Add("a b", []byte(`{"available":-1}`))
	h := newAPI(&fakeSagas{})
	f.Fuzz(func(t *testing.T, sku string, body []byte) {
		rec, ex, _ := serve(h, "PUT", "/v1/inventory/"+url.PathEscape(sku), string(body))
		if rec.Code >= 500 {
			t.Fatalf("status %d for sku %q body %q: %s", rec.Code, sku, body, rec.Body)
		}
		if err := checker.CheckAnswer(context.Background(), ex); err != nil {
			t.Fatal(err)
		}
	})
}
