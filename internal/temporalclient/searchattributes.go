package temporalclient

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// MissingSearchAttributesError says which of the saga's search attributes
// the namespace lacks; its message tells to run `ordersaga setup`.
type MissingSearchAttributesError struct {
	Namespace string
	Missing   []string
}

func (e *MissingSearchAttributesError) Error() string {
	return fmt.Sprintf("namespace %s lacks the search attributes %s: run `ordersaga setup` once with an operator credential, then start this role",
		e.Namespace, strings.Join(e.Missing, ", "))
}

// CheckSearchAttributes returns a *MissingSearchAttributesError naming the
// attributes of attrs the namespace lacks, or nil if it has them all.
// It needs no operator rights: it counts workflows with a visibility query
// on each attribute (CountWorkflowExecutions), which the server refuses
// with InvalidArgument when the attribute is unknown. Other errors are
// returned as they are.
func CheckSearchAttributes(ctx context.Context, c client.Client, namespace string, attrs map[string]enumspb.IndexedValueType) error {
	var missing []string
	for name := range attrs {
		_, err := c.WorkflowService().CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{
			Namespace: namespace, Query: fmt.Sprintf("%s = ''", name),
		})
		var invalid *serviceerror.InvalidArgument
		switch {
		case errors.As(err, &invalid):
			missing = append(missing, name)
		case err != nil:
			return fmt.Errorf("check search attribute %s: %w", name, err)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	slices.Sort(missing)
	return &MissingSearchAttributesError{Namespace: namespace, Missing: missing}
}

// EnsureSearchAttributes registers the attributes of attrs the namespace
// lacks, through the OperatorService (operator
// rights). It is idempotent and safe to run from several processes at
// once. It returns the names it added.
func EnsureSearchAttributes(ctx context.Context, c client.Client, namespace string, attrs map[string]enumspb.IndexedValueType) ([]string, error) {
	return addSearchAttributes(ctx, c, namespace, attrs)
}

// AddSearchAttributes registers those of attrs the namespace lacks and
// reports whether it added any (the server applies them within its
// namespace cache refresh interval). It is idempotent.
func AddSearchAttributes(ctx context.Context, c client.Client, namespace string, attrs map[string]enumspb.IndexedValueType) (bool, error) {
	added, err := addSearchAttributes(ctx, c, namespace, attrs)
	return len(added) > 0, err
}

func addSearchAttributes(ctx context.Context, c client.Client, namespace string, attrs map[string]enumspb.IndexedValueType) ([]string, error) {
	ops := c.OperatorService()
	have, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	var names []string
	for name, typ := range attrs {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
			names = append(names, name)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	slices.Sort(names)
	_, err = ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: missing})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return nil, fmt.Errorf("add search attributes: %w", err)
	}
	return names, nil
}
