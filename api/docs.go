package api

import (
	"bytes"
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPI is the API's contract, served at GET /openapi.yaml.
//
//go:embed openapi.yaml
var openAPI []byte

// The reference page at GET /docs: Redoc's standalone bundle (redoc 2.5.4
// from npm, MIT: docs/redoc.LICENSE) rendering openAPI, all bundled into
// the binary.
var (
	//go:embed docs/index.html
	docsPage []byte
	//go:embed docs/redoc.standalone.js
	redocScript []byte
)

// docsPolicy keeps the reference page to what the API itself serves: its
// script, the document, and the styles and worker Redoc makes in the page.
const docsPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// OpenAPI returns the API's OpenAPI 3.1 document (api/openapi.yaml): every
// route, its parameters, bodies, answers and headers, and the roles that
// may call it.
func OpenAPI() []byte { return bytes.Clone(openAPI) }

// routeDocs serves the contract and its reference page. They are open: they
// name no order.
func routeDocs(r *gin.Engine) {
	r.GET("/openapi.yaml", func(c *gin.Context) { c.Data(http.StatusOK, "application/yaml", openAPI) })
	r.GET("/docs", func(c *gin.Context) {
		c.Header("Content-Security-Policy", docsPolicy)
		c.Data(http.StatusOK, "text/html; charset=utf-8", docsPage)
	})
	r.GET("/docs/redoc.standalone.js", func(c *gin.Context) {
		c.Data(http.StatusOK, "text/javascript; charset=utf-8", redocScript)
	})
}
