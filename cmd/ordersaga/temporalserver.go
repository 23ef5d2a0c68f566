//go:build !slim

package main

import (
	"context"
	"log/slog"

	"github.com/ordersaga/ordersaga/internal/devserver"
	"github.com/ordersaga/ordersaga/workflows"
)

// TemporalServerCmd runs only the embedded Temporal server and Web UI: the
// Temporal part of `dev`, as its own process.
type TemporalServerCmd struct {
	DataDir           string `env:"DATA_DIR" default:"./.data" help:"Directory of the SQLite file."`
	TemporalDB        string `env:"TEMPORAL_DB" default:"sqlite" help:"sqlite (the file under --data-dir), sqlite-memory, or a postgres:// URL."`
	TemporalPort      int    `env:"TEMPORAL_PORT" default:"7233" help:"Frontend (gRPC) port."`
	UIPort            int    `name:"ui-port" env:"TEMPORAL_UI_PORT" default:"8233" help:"Web UI port (--ui-port=-1: no UI)."`
	NoUI              bool   `name:"no-ui" env:"TEMPORAL_NO_UI" help:"Run without the Web UI."`
	TemporalNamespace string `env:"TEMPORAL_NAMESPACE" default:"default" help:"Namespace to create."`
}

// Run serves until ctx is cancelled.
func (t *TemporalServerCmd) Run(ctx context.Context, log *slog.Logger) error {
	srv, err := devserver.Start(devserver.Config{
		DataDir: t.DataDir, Persistence: t.TemporalDB, FrontendPort: t.TemporalPort, UIPort: uiPort(t.UIPort, t.NoUI),
		Namespace: t.TemporalNamespace, SearchAttributes: workflows.SearchAttributes(), Logger: log,
	})
	if err != nil {
		return err
	}
	log.Info("temporal server running", "frontend", srv.FrontendAddress(), "web_ui", srv.UIAddress(), "ports", devserver.PortsString(srv.Ports()))
	<-ctx.Done()
	srv.Stop()
	return nil
}
