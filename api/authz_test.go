package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/api/idempotency"
	"github.com/ordersaga/ordersaga/internal/testkit/redistest"
	"github.com/ordersaga/ordersaga/workflows"
)

const (
	shopKey     = "shop-key-0123456789"
	otherKey    = "other-key-0123456789"
	approverKey = "approver-key-012345"
	adminKey    = "admin-key-0123456789"
)

var scopedAuth = api.Auth{
	Keys:         map[string]string{shopKey: "shop", otherKey: "other"},
	ApproverKeys: map[string]string{approverKey: "finance"},
	AdminKeys:    map[string]string{adminKey: "ops"},
}

func bearer(key string) []string {
	if key == "" {
		return nil
	}
	return []string{"Authorization", "Bearer " + key}
}

// placeOrder places an order as key and returns its ID.
func placeOrder(t *testing.T, h http.Handler, key string) string {
	t.Helper()
	rec, _ := send(t, h, "POST", "/v1/orders", validOrder, bearer(key)...)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	var out api.OrderAccepted
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	return out.OrderID
}

// TestScopes walks the authorization table of the README: who may do what
// to whose order.
func TestScopes(t *testing.T) {
	t.Parallel()
	sagas := &fakeSagas{}
	h := newSecureAPI(t, sagas, nil, scopedAuth)
	shops := placeOrder(t, h, shopKey)
	resolve := `{"reason":"refunded by hand in the provider's dashboard"}`
	stock := `{"available":1,"price_cents":1}`
	o := "/v1/orders/" + shops
	tests := []struct {
		name, method, path, body, key string
		want                          int
	}{
		{"no key, write", "POST", "/v1/orders", validOrder, "", 401},
		{"no key, read", "GET", o, ``, "", 401},
		{"no key, inventory read", "GET", "/v1/inventory/a", ``, "", 401},
		{"wrong key", "GET", o, ``, "not-a-key-0123456789", 401},
		{"client reads its own order", "GET", o, ``, shopKey, 200},
		{"client reads its own events", "GET", o + "/events", ``, shopKey, 200},
		{"another client's order is not found", "GET", o, ``, otherKey, 404},
		{"another client's events are not found", "GET", o + "/events", ``, otherKey, 404},
		{"another client cannot cancel it", "POST", o + "/cancel", ``, otherKey, 404},
		{"the owner may cancel (the saga decides: after the pivot, 409)", "POST", o + "/cancel", ``, shopKey, 409},
		{"a client may not approve, not even its own order", "POST", o + "/approve", ``, shopKey, 403},
		{"a client may not approve another's order", "POST", o + "/approve", ``, otherKey, 403},
		{"approver approves", "POST", o + "/approve", ``, approverKey, 202},
		{"approver reads any order", "GET", o, ``, approverKey, 200},
		{"approver may not place orders", "POST", "/v1/orders", validOrder, approverKey, 403},
		{"approver may not cancel", "POST", o + "/cancel", ``, approverKey, 403},
		{"admin approves", "POST", o + "/approve", ``, adminKey, 202},
		{"admin reads any order", "GET", o, ``, adminKey, 200},
		{"admin cancels any order (saga says 409)", "POST", o + "/cancel", ``, adminKey, 409},
		{"client inventory read", "GET", "/v1/inventory/a", ``, shopKey, 404},
		{"client inventory write", "PUT", "/v1/inventory/a", stock, shopKey, 403},
		{"approver inventory write", "PUT", "/v1/inventory/a", stock, approverKey, 403},
		{"admin inventory write", "PUT", "/v1/inventory/a", stock, adminKey, 200},
		{"client operator retry", "POST", o + "/compensations/charge_payment/retry", ``, shopKey, 403},
		{"approver operator resolve", "POST", o + "/compensations/charge_payment/resolve", resolve, approverKey, 403},
		{"admin operator retry", "POST", o + "/compensations/charge_payment/retry", ``, adminKey, 202},
		{"admin operator resolve", "POST", o + "/compensations/charge_payment/resolve", resolve, adminKey, 202},
		{"health is open", "GET", "/healthz", ``, "", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, p := send(t, h, tc.method, tc.path, tc.body, bearer(tc.key)...)
			require.Equal(t, tc.want, rec.Code, rec.Body.String())
			if tc.want >= 400 {
				require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
				require.Equal(t, tc.want, p.Status)
			}
			if tc.want == 401 {
				require.Contains(t, rec.Header().Get("WWW-Authenticate"), "Bearer")
			}
		})
	}
}

// A client's 404 for another client's order is the same answer as for an
// order that does not exist: nothing tells them apart.
func TestAnotherClientsOrderLooksMissing(t *testing.T) {
	t.Parallel()
	h := newSecureAPI(t, &fakeSagas{}, nil, scopedAuth)
	id := placeOrder(t, h, shopKey)
	// The same request ID, so that it does not tell them apart either.
	header := append(bearer(otherKey), api.RequestIDHeader, "req-1")
	theirs, _ := send(t, h, "GET", "/v1/orders/"+id, ``, header...)
	missing, _ := send(t, h, "GET", "/v1/orders/no-such-order", ``, header...)
	require.Equal(t, http.StatusNotFound, theirs.Code)
	require.JSONEq(t, missing.Body.String(), replaceInstance(theirs.Body.String(), id, "no-such-order"))
}

func replaceInstance(body, from, to string) string {
	var m map[string]any
	_ = json.Unmarshal([]byte(body), &m)
	m["instance"] = "/v1/orders/" + to
	b, _ := json.Marshal(m)
	return string(b)
}

// The order records the client that placed it.
func TestOrderRecordsItsClient(t *testing.T) {
	t.Parallel()
	sagas := &fakeSagas{}
	h := newSecureAPI(t, sagas, nil, scopedAuth)
	placeOrder(t, h, shopKey)
	placeOrder(t, h, adminKey)
	require.Equal(t, "shop", sagas.started[0].ClientID)
	require.Equal(t, "ops", sagas.started[1].ClientID)
}

// Updates carry who acted, and the same Idempotency-Key on a retried
// request gives the same update ID, so the saga applies it once.
func TestUpdatesAreDeduplicatedByIdempotencyKey(t *testing.T) {
	t.Parallel()
	sagas := &fakeSagas{}
	h := newSecureAPI(t, sagas, nil, scopedAuth)
	id := placeOrder(t, h, shopKey)
	for range 2 {
		rec, _ := send(t, h, "POST", "/v1/orders/"+id+"/approve", ``, append(bearer(approverKey), "Idempotency-Key", "approve-1")...)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	}
	// The API's idempotency record replays the second; even without it
	// (another key store, a lost record) the update ID is the same.
	rec, _ := send(t, newSecureAPI(t, sagas, nil, scopedAuth), "POST", "/v1/orders/"+id+"/approve", ``,
		append(bearer(approverKey), "Idempotency-Key", "approve-1")...)
	require.Equal(t, http.StatusAccepted, rec.Code)
	for range 2 {
		rec, _ := send(t, h, "POST", "/v1/orders/"+id+"/compensations/reserve_inventory/resolve", `{"reason":"fixed"}`,
			append(bearer(adminKey), "Idempotency-Key", "resolve-1")...)
		require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	}
	applied := sagas.applied()
	require.Len(t, applied, 2, "one approve and one resolve: %+v", applied)
	byName := map[string]sentUpdate{}
	for _, u := range applied {
		byName[u.Name] = u
	}
	require.Equal(t, []any{workflows.ApproveRequest{By: "finance"}}, byName[workflows.UpdateApprove].Args)
	require.Equal(t, []any{workflows.CompensationRequest{Step: workflows.StepReserveInventory, By: "ops", Reason: "fixed"}},
		byName[workflows.UpdateResolveCompensation].Args)

	// Without a key, each request is its own update.
	for range 2 {
		rec, _ := send(t, h, "POST", "/v1/orders/"+id+"/compensations/reserve_inventory/retry", ``, bearer(adminKey)...)
		require.Equal(t, http.StatusAccepted, rec.Code)
	}
	require.Len(t, sagas.applied(), 4)
}

func TestOperatorActionsAnswerBadInputWithProblems(t *testing.T) {
	t.Parallel()
	sagas := &fakeSagas{}
	h := newSecureAPI(t, sagas, nil, scopedAuth)
	id := placeOrder(t, h, shopKey)
	o := "/v1/orders/" + id + "/compensations/"
	tests := map[string]struct {
		path, body string
		status     int
		field      string
	}{
		"no reason":             {o + "charge_payment/resolve", `{}`, 400, "reason"},
		"blank reason":          {o + "charge_payment/resolve", `{"reason":"  "}`, 400, "reason"},
		"reason too long":       {o + "charge_payment/resolve", `{"reason":"` + longText(501) + `"}`, 400, "reason"},
		"no body":               {o + "charge_payment/resolve", ``, 400, ""},
		"unknown field":         {o + "charge_payment/resolve", `{"reason":"x","who":"me"}`, 400, "who"},
		"step without undo":     {o + "approval/retry", ``, 404, "step"},
		"unknown step":          {o + "ship/retry", ``, 404, "step"},
		"bad step":              {o + "a%20b/retry", ``, 400, "step"},
		"unknown order":         {"/v1/orders/nope/compensations/charge_payment/retry", ``, 404, ""},
		"GET is not allowed":    {o + "charge_payment/retry", ``, 405, ""},
		"unknown operator verb": {o + "charge_payment/skip", ``, 404, ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			method := "POST"
			if name == "GET is not allowed" {
				method = "GET"
			}
			rec, p := send(t, h, method, tc.path, tc.body, bearer(adminKey)...)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			require.Equal(t, tc.field, p.Field)
		})
	}
	require.Empty(t, sagas.applied(), "nothing invalid reached the saga")
}

func longText(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'x'
	}
	return string(b)
}

func TestAuthValidateRefusesAmbiguousKeys(t *testing.T) {
	t.Parallel()
	require.NoError(t, scopedAuth.Validate())
	require.ErrorContains(t, api.Auth{Keys: map[string]string{"k-0123456789abcdef": "a"}, AdminKeys: map[string]string{"k-0123456789abcdef": "b"}}.Validate(),
		"same key")
	require.ErrorContains(t, api.Auth{Keys: map[string]string{"k-0123456789abcdef": "a"}, AdminKeys: map[string]string{"z-0123456789abcdef": "a"}}.Validate(),
		`client name "a"`)
}

// TestAuditTrail: approvals, cancellations and operator actions, and every
// refusal of a role, are audited — with the reason given — even with the
// log level above Info.
func TestAuditTrail(t *testing.T) {
	t.Parallel()
	rdb, prefix := redistest.New(t)
	logs := &bytes.Buffer{}
	h := api.New(api.Config{MaxBodyBytes: 1024, RequestTimeout: 2 * time.Second, Auth: scopedAuth}, api.Deps{
		Sagas: &fakeSagas{}, Stock: fakeStock{}, Orders: noParts{}, Reservations: noParts{}, Payments: noParts{},
		Timeline: fakeTimeline{}, Idempotency: idempotency.NewStore(rdb, prefix+"idem:", time.Hour, time.Minute),
		Log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	id := placeOrder(t, h, shopKey)
	o := "/v1/orders/" + id

	rec, _ := send(t, h, "POST", o+"/compensations/charge_payment/resolve", `{"reason":"refunded by hand"}`,
		append(bearer(adminKey), "Idempotency-Key", "resolve-1")...)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	rec, _ = send(t, h, "POST", o+"/compensations/charge_payment/retry", ``, bearer(shopKey)...)
	require.Equal(t, http.StatusForbidden, rec.Code)
	rec, _ = send(t, h, "POST", o+"/approve", ``, bearer(approverKey)...)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())

	lines := logLines(t, logs, "audit")
	require.Len(t, lines, 3, logs.String())
	pick := func(l map[string]any, keys ...string) map[string]any {
		out := map[string]any{}
		for _, k := range keys {
			out[k] = l[k]
		}
		return out
	}
	keys := []string{"level", "action", "order_id", "client", "role", "step", "outcome"}
	require.Equal(t, map[string]any{"level": "INFO", "action": "compensation.resolve", "order_id": id, "client": "ops",
		"role": "admin", "step": "charge_payment", "outcome": "applied"}, pick(lines[0], keys...))
	require.Equal(t, "refunded by hand", lines[0]["reason"])
	require.NotEmpty(t, lines[0]["update_id"], "derived from the Idempotency-Key")
	require.Equal(t, map[string]any{"level": "INFO", "action": "POST /v1/orders/:id/compensations/:step/retry", "order_id": id,
		"client": "shop", "role": "client", "step": "charge_payment", "outcome": "forbidden"}, pick(lines[1], keys...))
	require.Equal(t, "approve", lines[2]["action"])
	require.Equal(t, "finance", lines[2]["client"])
}

// TestFourEyes ensures the principal that placed an order can never approve
// it, whatever its role (an admin places orders too), while another
// approver or admin can; the refusal is a 403 four_eyes problem and no
// update reaches the saga.
func TestFourEyes(t *testing.T) {
	t.Parallel()
	sagas := &fakeSagas{}
	h := newSecureAPI(t, sagas, nil, scopedAuth)
	byAdmin := placeOrder(t, h, adminKey)
	rec, p := send(t, h, "POST", "/v1/orders/"+byAdmin+"/approve", ``, bearer(adminKey)...)
	require.Equal(t, http.StatusForbidden, rec.Code, rec.Body.String())
	require.Equal(t, api.CodeFourEyes, p.Code)
	require.Contains(t, p.Detail, "ops placed this order")
	require.Empty(t, sagas.applied(), "the refused approval never reached the saga")

	rec, _ = send(t, h, "POST", "/v1/orders/"+byAdmin+"/approve", ``, bearer(approverKey)...)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
	byShop := placeOrder(t, h, shopKey)
	rec, _ = send(t, h, "POST", "/v1/orders/"+byShop+"/approve", ``, bearer(adminKey)...)
	require.Equal(t, http.StatusAccepted, rec.Code, rec.Body.String())
}
