package strangler

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Mode says who answers a route.
type Mode string

const (
	// Legacy: the monolith answers.
	Legacy Mode = "legacy"
	// Ordersaga: the gateway's own routes answer (what an unmatched path gets).
	Ordersaga Mode = "ordersaga"
	// Shadow: the monolith answers; ordersaga is asked the same (GET and
	// HEAD only) and the answers are compared.
	Shadow Mode = "shadow"
	// Canary: a sticky Percent of the traffic goes to ordersaga, the rest
	// to the monolith.
	Canary Mode = "canary"
)

// Auth says how a legacy-bound request is authenticated.
type Auth string

const (
	// AuthGateway (the default): the gateway checks its API keys, strips
	// the client's Authorization, and names the principal in the
	// monolith's trusted header (File.PrincipalHeader), replacing any
	// such header the client sent.
	AuthGateway Auth = "gateway"
	// AuthPassthrough: the gateway checks no key and passes the client's
	// Authorization to the monolith, which authenticates it. The principal
	// header is still stripped.
	AuthPassthrough Auth = "passthrough"
)

// DefaultPrincipalHeader is the header that names the principal to the
// monolith unless the file names another.
const DefaultPrincipalHeader = "X-Ordersaga-Principal"

// File is a routes file.
type File struct {
	// LegacyURL is the monolith's base URL (http or https, no credentials,
	// query or fragment); required when a route may reach it.
	LegacyURL string `yaml:"legacy_url"`
	// PrincipalHeader names the gateway's principal to the monolith
	// (default DefaultPrincipalHeader).
	PrincipalHeader string  `yaml:"principal_header"`
	Routes          []Route `yaml:"routes"`
}

// Route is one line of the route table.
type Route struct {
	// Prefix is a path prefix starting with "/"; the longest match wins.
	Prefix string `yaml:"prefix"`
	To     Mode   `yaml:"to"`
	// Percent is a canary's share (0 to 100) sent to ordersaga.
	Percent int `yaml:"percent"`
	// Auth is how a legacy-bound request is authenticated (default
	// AuthGateway).
	Auth Auth `yaml:"auth"`
	// Ignore lists the JSON fields a shadow comparison leaves out: dotted
	// paths ("meta.generated_at"); a path through an array applies to each
	// element ("items.id").
	Ignore []string `yaml:"ignore"`

	// lines are the file's line of the route ("") and of each field.
	lines map[string]int
}

// line returns the line of the route's field (of the route if absent).
func (r Route) line(field string) int {
	if n, ok := r.lines[field]; ok {
		return n
	}
	return r.lines[""]
}

// fieldError is a mistake in one field of a route.
type fieldError struct {
	field string
	err   error
}

func (e fieldError) Error() string { return e.err.Error() }

func bad(field string, err error) error { return fieldError{field: field, err: err} }

// Table is a parsed, valid route table. It is immutable.
type Table struct {
	legacy          *url.URL
	principalHeader string
	// routes are sorted longest prefix first.
	routes []Route
}

// Routes returns the table's routes, longest prefix first.
func (t *Table) Routes() []Route { return append([]Route(nil), t.routes...) }

// Match returns the route whose prefix is the longest that path starts
// with; false when none does (the path is ordersaga's).
func (t *Table) Match(path string) (Route, bool) {
	for _, r := range t.routes {
		if strings.HasPrefix(path, r.Prefix) {
			return r, true
		}
	}
	return Route{}, false
}

// LoadFile reads and validates a routes file. Errors name the file and the
// line of the mistake.
func LoadFile(path string) (*Table, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("routes file: %w", err)
	}
	t, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return t, nil
}

// Parse parses and validates a routes file's contents. Its errors start with
// the line of the mistake ("4: ...").
func Parse(b []byte) (*Table, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, yamlError(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, yamlError(err)
	}
	lines := routeLines(&doc)
	for i := range f.Routes {
		if i < len(lines) {
			f.Routes[i].lines = lines[i]
		}
	}
	return f.table()
}

// yamlError turns yaml's "yaml: line 3: ..." into "3: ...".
func yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		return errors.New(strings.TrimPrefix(te.Errors[0], "line "))
	}
	if errors.Is(err, io.EOF) {
		return errors.New("1: the file is empty: want legacy_url and routes")
	}
	return errors.New(strings.TrimPrefix(strings.TrimPrefix(err.Error(), "yaml: "), "line "))
}

// routeLines returns, for each item of the top-level routes list, the line
// of each of its fields ("" for the item's own).
func routeLines(doc *yaml.Node) []map[string]int {
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != "routes" {
			continue
		}
		var out []map[string]int
		for _, item := range m.Content[i+1].Content {
			lines := map[string]int{"": item.Line}
			for j := 0; j+1 < len(item.Content); j += 2 {
				lines[item.Content[j].Value] = item.Content[j].Line
			}
			out = append(out, lines)
		}
		return out
	}
	return nil
}

// table validates f and builds its table.
func (f File) table() (*Table, error) {
	t := &Table{principalHeader: DefaultPrincipalHeader}
	if f.PrincipalHeader != "" {
		if !validHeaderName(f.PrincipalHeader) || hopByHop(f.PrincipalHeader) || strings.EqualFold(f.PrincipalHeader, "Authorization") {
			return nil, fmt.Errorf("1: principal_header %q: want a header name that is neither hop-by-hop nor Authorization", f.PrincipalHeader)
		}
		t.principalHeader = textproto.CanonicalMIMEHeaderKey(f.PrincipalHeader)
	}
	seen := map[string]int{}
	reachesLegacy := false
	for i, r := range f.Routes {
		if err := r.validate(); err != nil {
			var fe fieldError
			errors.As(err, &fe)
			return nil, fmt.Errorf("%d: route %d (prefix %q): %w", r.line(fe.field), i+1, r.Prefix, err)
		}
		if prev, dup := seen[r.Prefix]; dup {
			return nil, fmt.Errorf("%d: route %d: prefix %q is already routed on line %d", r.line("prefix"), i+1, r.Prefix, prev)
		}
		seen[r.Prefix] = r.line("prefix")
		if r.Auth == "" {
			r.Auth = AuthGateway
		}
		reachesLegacy = reachesLegacy || r.To != Ordersaga
		t.routes = append(t.routes, r)
	}
	if reachesLegacy || f.LegacyURL != "" {
		u, err := legacyURL(f.LegacyURL)
		if err != nil {
			return nil, fmt.Errorf("1: legacy_url: %w", err)
		}
		t.legacy = u
	}
	sort.SliceStable(t.routes, func(i, j int) bool { return len(t.routes[i].Prefix) > len(t.routes[j].Prefix) })
	return t, nil
}

func (r Route) validate() error {
	switch {
	case !strings.HasPrefix(r.Prefix, "/"):
		return bad("prefix", errors.New(`prefix: want a path starting with "/"`))
	case strings.ContainsAny(r.Prefix, "?#%") || strings.Contains(r.Prefix, "/../") || strings.Contains(r.Prefix, "/./"):
		return bad("prefix", errors.New("prefix: want a clean path, without ?, #, % or dot segments"))
	}
	switch r.To {
	case Legacy, Ordersaga, Shadow, Canary:
	case "":
		return bad("", errors.New("to is required: legacy, ordersaga, shadow or canary"))
	default:
		return bad("to", fmt.Errorf("to %q: want legacy, ordersaga, shadow or canary", r.To))
	}
	if r.Percent != 0 && r.To != Canary {
		return bad("percent", errors.New("percent is for canary routes only"))
	}
	if r.Percent < 0 || r.Percent > 100 {
		return bad("percent", fmt.Errorf("percent %d: want 0 to 100", r.Percent))
	}
	if len(r.Ignore) > 0 && r.To != Shadow {
		return bad("ignore", errors.New("ignore is for shadow routes only"))
	}
	for _, p := range r.Ignore {
		if p == "" || strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") || strings.Contains(p, "..") {
			return bad("ignore", fmt.Errorf("ignore %q: want a dotted field path such as meta.generated_at", p))
		}
	}
	switch r.Auth {
	case "", AuthGateway, AuthPassthrough:
	default:
		return bad("auth", fmt.Errorf("auth %q: want gateway or passthrough", r.Auth))
	}
	if r.Auth == AuthPassthrough && r.To == Ordersaga {
		return bad("auth", errors.New("auth passthrough: an ordersaga route never reaches the monolith"))
	}
	return nil
}

// legacyURL parses the monolith's base URL.
func legacyURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("required: a route sends requests to the monolith")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("not a URL: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("scheme %q: want http or https", u.Scheme)
	case u.Host == "":
		return nil, errors.New("want a host")
	case u.User != nil:
		return nil, errors.New("credentials in the URL would be logged and sent on every request: remove them")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("want no query or fragment")
	}
	return u, nil
}

func validHeaderName(s string) bool {
	for _, r := range s {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return s != ""
}

// hopByHop reports whether name is a hop-by-hop header (RFC 9110 7.6.1).
func hopByHop(name string) bool {
	switch http.CanonicalHeaderKey(name) {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer",
		"Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}
