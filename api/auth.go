package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/internal/apikey"
)

// Role is what an API key may do; see Scope for the rights of each role.
type Role string

const (
	// RoleClient places orders, and reads, lists and cancels its own.
	RoleClient Role = "client"
	// RoleApprover approves orders and reads any order.
	RoleApprover Role = "approver"
	// RoleAdmin may do everything, including inventory writes and the
	// operator actions on stuck sagas.
	RoleAdmin Role = "admin"
)

// Scope is one right a route requires.
type Scope string

const (
	ScopeOrdersCreate   Scope = "orders:create"
	ScopeOrdersRead     Scope = "orders:read"     // own orders; any with ScopeOrdersReadAll
	ScopeOrdersReadAll  Scope = "orders:read:all" // every client's orders
	ScopeOrdersCancel   Scope = "orders:cancel"   // own orders; any with ScopeOrdersReadAll
	ScopeOrdersApprove  Scope = "orders:approve"
	ScopeInventoryRead  Scope = "inventory:read"
	ScopeInventoryWrite Scope = "inventory:write"
	ScopeOperator       Scope = "sagas:operate" // retry or resolve a stuck compensation
)

// scopes lists each role's rights: the authorization table, in one place.
var scopes = map[Role][]Scope{
	RoleClient:   {ScopeOrdersCreate, ScopeOrdersRead, ScopeOrdersCancel, ScopeInventoryRead},
	RoleApprover: {ScopeOrdersRead, ScopeOrdersReadAll, ScopeOrdersApprove, ScopeInventoryRead},
	RoleAdmin: {ScopeOrdersCreate, ScopeOrdersRead, ScopeOrdersReadAll, ScopeOrdersCancel, ScopeOrdersApprove,
		ScopeInventoryRead, ScopeInventoryWrite, ScopeOperator},
}

// Can reports whether role has scope.
func (r Role) Can(scope Scope) bool {
	for _, s := range scopes[r] {
		if s == scope {
			return true
		}
	}
	return false
}

// Auth is the API's key-based access control. With no keys it is off:
// every request comes from client "anonymous" with the admin role (the
// commands allow that only on a loopback address, or when told to).
type Auth struct {
	// Keys maps client keys to client names.
	Keys map[string]string
	// ApproverKeys maps approver keys to names.
	ApproverKeys map[string]string
	// AdminKeys maps admin keys to names.
	AdminKeys map[string]string
}

// Enabled reports whether any key is configured.
func (a Auth) Enabled() bool { return len(a.Keys)+len(a.ApproverKeys)+len(a.AdminKeys) > 0 }

// Validate reports a key given to two roles, or a name given to two roles:
// a name owns orders, so it must mean one principal.
func (a Auth) Validate() error {
	roles := map[string]Role{}
	names := map[string]Role{}
	for _, set := range a.roleKeys() {
		for key, name := range set.keys {
			if r, ok := roles[key]; ok {
				return fmt.Errorf("the same key is given to the %s and %s roles", r, set.role)
			}
			roles[key] = set.role
			if r, ok := names[name]; ok && r != set.role {
				return fmt.Errorf("client name %q is given to the %s and %s roles", name, r, set.role)
			}
			names[name] = set.role
		}
	}
	return nil
}

type roleKeys struct {
	role Role
	keys map[string]string
}

func (a Auth) roleKeys() []roleKeys {
	return []roleKeys{{RoleAdmin, a.AdminKeys}, {RoleApprover, a.ApproverKeys}, {RoleClient, a.Keys}}
}

// Principal is who sent a request.
type Principal struct {
	Name string
	Role Role
}

// Anonymous is the client name of every request when auth is off; no key
// may be given it, or that key's client would own every order placed
// without auth.
const Anonymous = "anonymous"

// anonymous is the principal of every request when auth is off.
var anonymous = Principal{Name: Anonymous, Role: RoleAdmin}

// principalKey is where the authenticated principal is kept on the request
// context.
const principalKey = "ordersaga.principal"

// principal returns who sent the request (anonymous without auth).
func principal(c *gin.Context) Principal {
	if v, ok := c.Get(principalKey); ok {
		return v.(Principal)
	}
	return anonymous
}

// authenticate identifies the sender of every /v1 request: with any key
// configured, every request (reads too) needs a valid one.
func (s *server) authenticate(c *gin.Context) {
	if s.identify(c) {
		c.Next()
	}
}

// identify records the request's principal and reports true, or answers
// 401 and reports false. Keys are compared in constant time.
func (s *server) identify(c *gin.Context) bool {
	if !s.cfg.Auth.Enabled() {
		c.Set(principalKey, anonymous)
		return true
	}
	token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || token == "" {
		c.Header("WWW-Authenticate", `Bearer realm="ordersaga"`)
		s.problem(c, statusProblem(http.StatusUnauthorized, "an API key is required: Authorization: Bearer <key>"))
		return false
	}
	// Every role's keys are compared, so the time taken does not tell
	// which role a key nearly matched.
	var who *Principal
	for _, set := range s.cfg.Auth.roleKeys() {
		if name, ok := apikey.Match(token, set.keys); ok && who == nil {
			who = &Principal{Name: name, Role: set.role}
		}
	}
	if who != nil {
		c.Set(principalKey, *who)
		return true
	}
	c.Header("WWW-Authenticate", `Bearer realm="ordersaga", error="invalid_token"`)
	s.problem(c, statusProblem(http.StatusUnauthorized, "the API key is not valid"))
	return false
}

// require answers 403 unless the principal's role has scope.
func (s *server) require(scope Scope) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := principal(c)
		if !p.Role.Can(scope) {
			s.audit.InfoContext(c.Request.Context(), "audit", "action", c.Request.Method+" "+c.FullPath(),
				"order_id", c.Param("id"), "client", p.Name, "role", p.Role, "step", c.Param("step"), "outcome", "forbidden")
			s.problem(c, statusProblem(http.StatusForbidden, fmt.Sprintf("the %s role may not do this (needs %s)", p.Role, scope)))
			return
		}
		c.Next()
	}
}
