package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"go.temporal.io/api/serviceerror"
	"google.golang.org/grpc/codes"

	"github.com/ordersaga/ordersaga/internal/temporalclient"
	"github.com/ordersaga/ordersaga/workflows"
)

// SetupCmd prepares a namespace for the saga: it registers the search
// attributes, the one step that needs operator rights. Every other role
// only checks that they exist.
type SetupCmd struct {
	TemporalConnFlags `embed:""`
}

// Run registers what is missing, says what it did, and waits until the
// namespace's queries see the attributes (so the roles started next find
// them).
func (s *SetupCmd) Run(ctx context.Context, log *slog.Logger, stdout io.Writer) error {
	c, err := dialTemporalOnly(ctx, s.connection(), CodecFlags{}, nil, log)
	if err != nil {
		return err
	}
	defer c.Close()
	added, err := registerSearchAttributes(ctx, c)
	if err != nil {
		return err
	}
	names := strings.Join(slices.Sorted(maps.Keys(workflows.SearchAttributes())), ", ")
	if len(added) == 0 {
		fmt.Fprintf(stdout, "namespace %s at %s: search attributes %s already registered; nothing to do\n", c.Namespace, c.Address, names)
		return nil
	}
	fmt.Fprintf(stdout, "namespace %s at %s: registered search attributes %s; the roles may start\n", c.Namespace, c.Address, strings.Join(added, ", "))
	return nil
}

// searchAttributesVisible bounds the wait for the server to apply new
// search attributes (its namespace cache refresh, 10s by default).
const searchAttributesVisible = 30 * time.Second

// registerSearchAttributes registers the saga's missing search attributes
// through the OperatorService and waits until queries see them. It
// returns the names it added.
func registerSearchAttributes(ctx context.Context, c *temporalConn) ([]string, error) {
	rctx, cancel := context.WithTimeout(ctx, searchAttributesVisible)
	defer cancel()
	added, err := temporalclient.EnsureSearchAttributes(rctx, c, c.Namespace, workflows.SearchAttributes())
	if code := serviceerror.ToStatus(err).Code(); code == codes.PermissionDenied || code == codes.Unauthenticated {
		return nil, fmt.Errorf("namespace %s: this credential may not register search attributes (the OperatorService refused it): run `ordersaga setup` with an operator credential", c.Namespace)
	}
	if err != nil {
		return nil, err
	}
	for {
		err := temporalclient.CheckSearchAttributes(rctx, c, c.Namespace, workflows.SearchAttributes())
		var missing *temporalclient.MissingSearchAttributesError
		if !errors.As(err, &missing) {
			return added, err
		}
		select {
		case <-rctx.Done():
			return nil, fmt.Errorf("namespace %s: search attributes %s registered but still unknown to queries after %s",
				c.Namespace, strings.Join(missing.Missing, ", "), searchAttributesVisible)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
