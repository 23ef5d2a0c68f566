package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ReadDriver drives reads through the HTTP API with Run: each "saga" of the
// run is one GET of one of Paths, in turn, which ends when its response has
// been read. So the report's completions per second are requests per second
// and its start latency is the request's latency.
type ReadDriver struct {
	// Label names the report.
	Label   string
	BaseURL string
	HTTP    *http.Client
	// Paths are read in turn; Run needs at least one.
	Paths []string
}

// Name implements Driver.
func (d *ReadDriver) Name() string { return d.Label }

// Start implements Driver: GET Paths[n mod len(Paths)], which must answer
// 200; the body is read to its end.
func (d *ReadDriver) Start(ctx context.Context, n int) (string, error) {
	path := d.Paths[n%len(d.Paths)]
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(d.BaseURL, "/")+path, nil)
	if err != nil {
		return "", err
	}
	resp, err := d.HTTP.Do(req)
	if err != nil {
		return "", errKind{"http: " + classify(err), err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", errKind{"http: " + classify(err), err.Error()}
	}
	if resp.StatusCode != http.StatusOK {
		return "", errKind{fmt.Sprintf("http %d", resp.StatusCode), string(raw)}
	}
	return path, nil
}

// Wait implements Driver: a read has ended when Start returns.
func (d *ReadDriver) Wait(context.Context, string) (time.Time, error) { return time.Time{}, nil }
