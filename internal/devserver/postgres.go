package devserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"

	"github.com/ordersaga/ordersaga/internal/temporalclient"
	"google.golang.org/protobuf/types/known/durationpb"
)

// isPostgres reports whether persistence names a PostgreSQL URL.
func isPostgres(persistence string) bool {
	return strings.HasPrefix(persistence, "postgres://") || strings.HasPrefix(persistence, "postgresql://")
}

// setupPostgres returns the SQL configs of the default and visibility
// stores on the PostgreSQL at rawURL (postgres://user:pass@host:port/db),
// creating the databases <db> and <db>_visibility and bringing their
// schemas to the version this server needs. It is idempotent.
func setupPostgres(rawURL string, logger log.Logger) (main, visibility *config.SQL, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("devserver: postgres url: %w", err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		db = "temporal"
	}
	host := u.Host
	if u.Port() == "" {
		host += ":5432"
	}
	password, _ := u.User.Password()
	base := config.SQL{
		PluginName:      postgresql.PluginName,
		ConnectAddr:     host,
		ConnectProtocol: "tcp",
		User:            u.User.Username(),
		Password:        password,
		MaxConns:        20,
		MaxIdleConns:    20,
		MaxConnLifetime: time.Hour,
	}
	if mode := u.Query().Get("sslmode"); mode != "" {
		base.ConnectAttributes = map[string]string{"sslmode": mode}
	}
	stores := []struct {
		cfg    config.SQL
		schema string
	}{{base, "postgresql/v12/temporal"}, {base, "postgresql/v12/visibility"}}
	stores[0].cfg.DatabaseName = db
	stores[1].cfg.DatabaseName = db + "_visibility"
	for i := range stores {
		if err := migrate(stores[i].cfg, stores[i].schema, logger); err != nil {
			return nil, nil, fmt.Errorf("devserver: postgres %s at %s: %w", stores[i].cfg.DatabaseName, host, err)
		}
	}
	return &stores[0].cfg, &stores[1].cfg, nil
}

func migrate(cfg config.SQL, schemaName string, logger log.Logger) error {
	create := cfg
	if err := sqltool.DoCreateDatabase(&create, "postgres", logger); err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	conn, err := sqltool.NewConnection(&cfg, logger)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ReadSchemaVersion(); err != nil {
		if err := schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run(); err != nil {
			return fmt.Errorf("set up schema versioning: %w", err)
		}
	}
	if err := schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{DBName: cfg.DatabaseName, SchemaName: schemaName}, logger).Run(); err != nil {
		return fmt.Errorf("update schema: %w", err)
	}
	return nil
}

// registerNamespace creates the namespace and its search attributes through
// the frontend (the SQLite path writes them to the database before start
// instead), then waits for the server's namespace cache to see them. An
// existing namespace and attributes are kept.
func registerNamespace(ctx context.Context, frontend, namespace string, attrs map[string]enumspb.IndexedValueType) error {
	c, err := client.Dial(client.Options{HostPort: frontend, Namespace: namespace, Logger: tlog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: namespace, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour)})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("devserver: register namespace %s: %w", namespace, err)
	}
	added, err := temporalclient.AddSearchAttributes(ctx, c, namespace, attrs)
	if err != nil || !added {
		return err
	}
	// The frontend validates search attributes against its namespace cache,
	// refreshed every namespaceCacheRefresh.
	time.Sleep(2 * namespaceCacheRefresh)
	return nil
}
