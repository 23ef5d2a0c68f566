package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HealthcheckCmd checks a URL, for a container's HEALTHCHECK in an image
// without curl or wget.
type HealthcheckCmd struct {
	URL     string        `arg:"" default:"http://127.0.0.1:9100/readyz" help:"URL to GET (default: a worker's /readyz)."`
	Timeout time.Duration `default:"3s" help:"How long to wait for the answer."`
}

// Run fails unless the URL answers 2xx within the timeout.
func (h *HealthcheckCmd) Run(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, h.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("healthcheck: %s answered %s", h.URL, resp.Status)
	}
	return nil
}
