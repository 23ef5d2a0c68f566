package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/ordersaga/ordersaga/internal/apikey"
)

// Auth is the API's optional key-based access control. With no keys it is
// off: every request is allowed and comes from client "anonymous".
type Auth struct {
	// Keys maps API keys to client names; they may write orders.
	Keys map[string]string
	// AdminKeys maps admin keys to client names; they may also write the
	// inventory.
	AdminKeys map[string]string
	// Reads, when true, requires a key for reads too.
	Reads bool
}

// Enabled reports whether any key is configured.
func (a Auth) Enabled() bool { return len(a.Keys)+len(a.AdminKeys) > 0 }

// clientKey is where the authenticated client's name is kept on the
// request context.
const clientKey = "ordersaga.client"

// client returns the authenticated client's name, "anonymous" without auth.
func client(c *gin.Context) string {
	if v := c.GetString(clientKey); v != "" {
		return v
	}
	return "anonymous"
}

// authenticate enforces Auth on /v1: writes need a key, inventory writes an
// admin key, reads a key if Auth.Reads. Keys are compared in constant time.
func (s *server) authenticate(c *gin.Context) {
	if !s.cfg.Auth.Enabled() {
		c.Next()
		return
	}
	write := c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead
	if !write && !s.cfg.Auth.Reads {
		c.Next()
		return
	}
	token, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer ")
	if !ok || token == "" {
		c.Header("WWW-Authenticate", `Bearer realm="ordersaga"`)
		s.problem(c, statusProblem(http.StatusUnauthorized, "an API key is required: Authorization: Bearer <key>"))
		return
	}
	name, admin := apikey.Match(token, s.cfg.Auth.AdminKeys)
	if !admin {
		var ok bool
		if name, ok = apikey.Match(token, s.cfg.Auth.Keys); !ok {
			c.Header("WWW-Authenticate", `Bearer realm="ordersaga", error="invalid_token"`)
			s.problem(c, statusProblem(http.StatusUnauthorized, "the API key is not valid"))
			return
		}
	}
	if write && strings.HasPrefix(c.FullPath(), "/v1/inventory") && !admin {
		s.problem(c, statusProblem(http.StatusForbidden, "inventory writes need an admin key"))
		return
	}
	c.Set(clientKey, name)
	c.Next()
}
