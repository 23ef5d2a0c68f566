// Package deploytest tests what deploy/ and docker-compose.yml ship, with
// the tools' own parsers: the Helm chart rendered by the pinned Helm (go
// tool, tools/go.mod) and decoded strictly into the Kubernetes API types,
// and the Compose file loaded by compose-go against the Compose
// specification. It is a module of its own so that the Kubernetes and
// Compose libraries stay out of ordersaga's go.mod; `task test` runs it.
package deploytest
