package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/require"

	"github.com/ordersaga/ordersaga/api"
)

// TestContractNamesEachOperationsRoles: for every /v1 operation of the
// OpenAPI contract, a role's key is refused (403) exactly when the
// operation's x-roles leave that role out; x-roles are the roles that have
// the operation's x-scope in the code's scope table; and the description
// names them.
func TestContractNamesEachOperationsRoles(t *testing.T) {
	t.Parallel()
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	require.NoError(t, err)
	h := newSecureAPI(t, &fakeSagas{owners: map[string]string{"o1": "shop"}}, nil, scopedAuth)
	keys := map[api.Role]string{api.RoleClient: shopKey, api.RoleApprover: approverKey, api.RoleAdmin: adminKey}
	operations := 0
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/v1/") {
			continue
		}
		for method, op := range item.Operations() {
			operations++
			name := method + " " + path
			var roles []string
			list, _ := op.Extensions["x-roles"].([]any)
			for _, r := range list {
				roles = append(roles, fmt.Sprint(r))
			}
			scope, _ := op.Extensions["x-scope"].(string)
			require.NotEmpty(t, roles, "%s has x-roles", name)
			_, line, found := strings.Cut(op.Description, "**Roles:**")
			require.True(t, found, "%s: the description names its roles", name)
			line, _, _ = strings.Cut(line, "\n")
			url := strings.NewReplacer("{id}", "o1", "{step}", "charge_payment", "{sku}", "widget").Replace(path)
			body := ""
			if op.RequestBody != nil {
				body = `{}`
			}
			for role, key := range keys {
				listed := slices.Contains(roles, string(role))
				require.Equal(t, role.Can(api.Scope(scope)), listed, "%s: x-roles and the scope table disagree on %s", name, role)
				require.Equal(t, listed, strings.Contains(line, "`"+string(role)+"`"), "%s: the description's roles and x-roles disagree on %s", name, role)
				rec, _ := send(t, h, method, url, body, bearer(key)...)
				require.Equal(t, !listed, rec.Code == 403, "%s as %s answered %d: %s", name, role, rec.Code, rec.Body)
			}
		}
	}
	require.Equal(t, 10, operations, "every /v1 operation")
}
