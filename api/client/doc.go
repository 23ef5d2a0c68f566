// Package client is the Go client of the ordersaga API, generated from its
// OpenAPI document (api/openapi.yaml) by oapi-codegen: client.gen.go holds
// the request and response types and ClientWithResponses, whose methods
// return each documented answer decoded (JSON200, JSON202, ApplicationProblemJSON400, …).
// Regenerate with `go generate ./api/client` after changing the document.
package client

//go:generate go tool -modfile=../../tools/go.mod oapi-codegen -config oapi-codegen.yaml ../openapi.yaml
