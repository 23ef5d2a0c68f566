package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/ordersaga/ordersaga"
)

// errOrderNotFound answers both an unknown order and another client's
// order, so a client cannot learn that an order it does not own exists.
var errOrderNotFound = ordersaga.Errorf(ordersaga.ENOTFOUND, "order not found")

// order returns the path's order ID once the principal may reach that
// order: any order with ScopeOrdersReadAll, otherwise only the principal's
// own. Otherwise it answers (400 for a bad ID, 404 for an unknown or
// another client's order) and returns false.
func (s *server) order(c *gin.Context) (string, bool) {
	id, _, ok := s.ownedOrder(c)
	return id, ok
}

// ownedOrder is order, also returning the name of the client that placed
// the order.
func (s *server) ownedOrder(c *gin.Context) (id, owner string, ok bool) {
	id, ok = s.param(c, "id")
	if !ok {
		return "", "", false
	}
	who := principal(c)
	owner, err := s.deps.Sagas.Owner(c.Request.Context(), id)
	switch {
	case ordersaga.ErrorCode(err) == ordersaga.ENOTFOUND:
		s.fail(c, errOrderNotFound)
		return "", "", false
	case err != nil:
		s.fail(c, err)
		return "", "", false
	case owner != who.Name && !who.Role.Can(ScopeOrdersReadAll):
		s.fail(c, errOrderNotFound)
		return "", "", false
	}
	return id, owner, true
}

// CodeFourEyes is the problem code (403) of an approval by the principal
// that placed the order.
const CodeFourEyes = "four_eyes"

// fourEyes answers 403 four_eyes, and returns false, when the request's
// principal placed the order it would approve: an approval is a second
// principal's, whatever the first one's role. With auth off every request
// is the one anonymous principal, so there is no second one to ask: the
// rule holds only with keys (which a non-loopback API requires).
func (s *server) fourEyes(c *gin.Context, orderID, owner string) bool {
	who := principal(c)
	if !s.cfg.Auth.Enabled() || owner != who.Name {
		return true
	}
	s.audit.InfoContext(c.Request.Context(), "audit", "action", "approve", "order_id", orderID, "client", who.Name,
		"role", who.Role, "outcome", CodeFourEyes)
	s.problem(c, codeProblem(http.StatusForbidden, CodeFourEyes,
		"four eyes: "+who.Name+" placed this order, so another principal must approve it"))
	return false
}

// updateNamespace seeds the update IDs derived from idempotency keys.
var updateNamespace = uuid.MustParse("0b5e6c3d-2f7a-4e8b-9c1d-5a6f7e8d9c0b")

// updateID derives a Temporal update ID from the request's Idempotency-Key,
// the client and the request path, so a retried request is applied once by
// the saga even if the API's own record of it was lost; "" without a key.
func updateID(c *gin.Context) string {
	key := c.GetHeader(IdempotencyKeyHeader)
	if key == "" {
		return ""
	}
	return uuid.NewSHA1(updateNamespace, []byte(principal(c).Name+"\x00"+c.Request.Method+" "+c.Request.URL.Path+"\x00"+key)).String()
}

// update sends the saga update name for orderID on behalf of the request's
// principal, audits it (with reason, if any), and on failure answers the
// problem and returns false.
func (s *server) update(c *gin.Context, orderID, action, reason, name string, args ...any) bool {
	uid := updateID(c)
	err := s.deps.Sagas.Update(c.Request.Context(), orderID, uid, name, args...)
	who := principal(c)
	outcome := "applied"
	if err != nil {
		outcome = ordersaga.ErrorCode(err)
	}
	attrs := []any{"action", action, "order_id", orderID, "client", who.Name, "role", who.Role, "update_id", uid,
		"step", c.Param("step"), "outcome", outcome}
	if reason != "" {
		attrs = append(attrs, "reason", reason)
	}
	s.audit.InfoContext(c.Request.Context(), "audit", attrs...)
	if err != nil {
		s.fail(c, err)
		return false
	}
	return true
}

// auditHandler writes every record at Info or above through the handler it
// wraps, whatever that handler's level: the audit trail (approvals,
// cancellations, operator actions, refusals) stays on under
// --log-level warn or error.
type auditHandler struct{ slog.Handler }

func (a auditHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelInfo }

func (a auditHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return auditHandler{a.Handler.WithAttrs(attrs)}
}

func (a auditHandler) WithGroup(name string) slog.Handler {
	return auditHandler{a.Handler.WithGroup(name)}
}
