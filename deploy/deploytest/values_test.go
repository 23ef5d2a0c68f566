package deploytest

import (
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

// TestChartDefaults: the defaults run every role, the payment simulator
// included, with generated internal credentials, and wire the gateway and
// the payment service to the Services of the roles they call.
func TestChartDefaults(t *testing.T) {
	r := render(t)
	require.ElementsMatch(t, []string{"orchestrator", "order", "inventory", "payment", "projector", "api", "paymentsim"}, keys(r.deployments))
	s := r.secrets["shop-ordersaga"]
	require.NotNil(t, s)
	require.GreaterOrEqual(t, len(s.Data["SERVICE_TOKEN"]), 16)
	require.GreaterOrEqual(t, len(s.Data["PAYMENT_PROVIDER_SECRET_KEY"]), 16)
	require.True(t, strings.HasPrefix(string(s.Data["ADMIN_API_KEYS"]), "admin:"), "an admin key is generated when no API key is given")
	require.NotContains(t, s.Data, "CODEC_KEYS", "an empty value is left out")

	api := r.deployments["api"].Spec.Template.Spec.Containers[0]
	for _, v := range []string{"ORDER_SERVICE_URL", "INVENTORY_SERVICE_URL", "PAYMENT_SERVICE_URL"} {
		requireServiceURL(t, r, env(api, v))
	}
	pay := r.deployments["payment"].Spec.Template.Spec.Containers[0]
	requireServiceURL(t, r, env(pay, "PAYMENT_PROVIDER_URL"))
	require.Equal(t, int32(2), *r.deployments["api"].Spec.Replicas)
	require.Empty(t, r.hpas)
	require.Empty(t, r.serviceMonitors)

	// Least privilege: each role mounts only what it reads.
	files := func(role string) []string {
		d := r.deployments[role].Spec.Template.Spec
		return secretFiles(d, d.Containers[0])
	}
	require.Empty(t, files("orchestrator"), "the orchestrator reads no secret here (no codec keys, no Temporal key)")
	require.NotContains(t, files("projector"), "/run/secrets/ordersaga/SERVICE_TOKEN")
	require.Contains(t, files("order"), "/run/secrets/ordersaga/SERVICE_TOKEN")
	require.Contains(t, files("api"), "/run/secrets/ordersaga/ADMIN_API_KEYS")
	require.NotContains(t, files("api"), "/run/secrets/ordersaga/RABBITMQ_URL")
}

// requireServiceURL: u is http://<a rendered Service>:<its port>.
func requireServiceURL(t *testing.T, r *rendered, u string) {
	t.Helper()
	p, err := url.Parse(u)
	require.NoError(t, err)
	svc := r.services[p.Hostname()]
	require.NotNil(t, svc, "%s names a Service of the release", u)
	require.Equal(t, p.Port(), strconv.Itoa(int(svc.Spec.Ports[0].Port)))
}

// TestChartMTLSProfile: every Temporal role and setup connect through the
// TOML profile mounted from its Secret, setup with its own profile; the
// Secret is one managed elsewhere, of which only the listed keys are used.
func TestChartMTLSProfile(t *testing.T) {
	r := render(t, valueSets["mtls"]...)
	require.Empty(t, r.secrets, "an existing Secret: the chart makes none")
	check := func(pod corev1.PodSpec, profile string) {
		c := pod.Containers[0]
		require.Equal(t, "/etc/temporal/temporal.toml", env(c, "TEMPORAL_CONFIG_FILE"))
		require.Equal(t, profile, env(c, "TEMPORAL_PROFILE"))
		require.False(t, hasEnv(c, "TEMPORAL_ADDRESS"), "the profile's address")
		require.Contains(t, mountedSecrets(pod, c), "temporal-profile")
	}
	for role, want := range rolePaths {
		d, ok := r.deployments[role]
		if !ok || !want.temporal {
			continue
		}
		check(d.Spec.Template.Spec, "worker")
		require.Contains(t, mountedSecrets(d.Spec.Template.Spec, d.Spec.Template.Spec.Containers[0]), "ordersaga-secrets")
	}
	check(r.jobs[0].Spec.Template.Spec, "operator")
	proj := r.deployments["projector"].Spec.Template.Spec
	require.NotContains(t, mountedSecrets(proj, proj.Containers[0]), "temporal-profile", "the projector does not talk to Temporal")
}

// mountedSecrets returns the names of the Secrets c mounts.
func mountedSecrets(pod corev1.PodSpec, c corev1.Container) []string {
	var names []string
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				names = append(names, v.Secret.SecretName)
			}
		}
	}
	return names
}

// TestChartAPIKeys: each role's Temporal API key is its own where given,
// setup's operator key lives only in its hook Secret, and the codec server
// gets the codec keys and its callers' keys.
func TestChartAPIKeys(t *testing.T) {
	r := render(t, valueSets["apikey"]...)
	main := r.secrets["shop-ordersaga"]
	require.NotContains(t, main.Data, "TEMPORAL_API_KEY_SETUP", "the operator credential stays out of the roles' Secret")
	hook := r.secrets["shop-ordersaga-setup"]
	require.NotNil(t, hook)
	require.Contains(t, hook.Annotations["helm.sh/hook"], "pre-install")
	require.Contains(t, hook.Annotations["helm.sh/hook-delete-policy"], "hook-succeeded")
	require.Equal(t, "operator-api-key", string(hook.Data["TEMPORAL_API_KEY"]))
	require.Equal(t, "shop-ordersaga-setup", r.jobs[0].Spec.Template.Spec.Volumes[1].Secret.SecretName)

	item := func(role string) string {
		for _, v := range r.deployments[role].Spec.Template.Spec.Volumes {
			if v.Secret == nil {
				continue
			}
			for _, it := range v.Secret.Items {
				if it.Path == "TEMPORAL_API_KEY" {
					return it.Key
				}
			}
		}
		return ""
	}
	require.Equal(t, "TEMPORAL_API_KEY_ORCHESTRATOR", item("orchestrator"))
	require.Equal(t, "TEMPORAL_API_KEY", item("api"))
	require.Equal(t, "", item("projector"))
	for _, role := range []string{"orchestrator", "api", "payment"} {
		c := r.deployments[role].Spec.Template.Spec.Containers[0]
		require.Equal(t, "/run/secrets/ordersaga/TEMPORAL_API_KEY", env(c, "TEMPORAL_API_KEY_FILE"))
		require.Equal(t, "true", env(c, "TEMPORAL_TLS"))
		require.Equal(t, "/run/secrets/ordersaga/CODEC_KEYS", env(c, "CODEC_KEYS_FILE"))
	}
	codec := r.deployments["codec-server"].Spec.Template.Spec.Containers[0]
	require.Equal(t, "/run/secrets/ordersaga/CODEC_AUTH_KEYS", env(codec, "CODEC_AUTH_KEYS_FILE"))
	require.Equal(t, "http://localhost:8233", env(codec, "CODEC_CORS_ORIGINS"))
}

// TestChartServiceMonitors: with the Prometheus Operator, one
// ServiceMonitor per role serving /metrics, selecting its Service's http
// port, labelled for the Prometheus that selects them.
func TestChartServiceMonitors(t *testing.T) {
	r := render(t, valueSets["servicemonitor"]...)
	require.Len(t, r.serviceMonitors, 6)
	for _, sm := range r.serviceMonitors {
		require.Equal(t, "prometheus", sm.Labels["release"])
		svc := r.services[sm.Name]
		require.NotNil(t, svc, "%s: a Service of the same name", sm.Name)
		for k, v := range sm.Spec.Selector.MatchLabels {
			require.Equal(t, v, svc.Labels[k], "%s selects its Service", sm.Name)
		}
		require.Equal(t, "http", sm.Spec.Endpoints[0].Port)
		require.Equal(t, "/metrics", sm.Spec.Endpoints[0].Path)
	}
	api := r.deployments["api"].Spec.Template.Spec.Containers[0]
	require.Equal(t, "otlp", env(api, "OTEL_TRACES_EXPORTER"))
	require.Equal(t, "ordersaga-api", env(api, "OTEL_SERVICE_NAME"))
}

// TestChartHPA: the API's autoscaler owns its replica count; the settings
// file is mounted and named by ORDERSAGA_CONFIG; a longer shutdown
// timeout comes with a longer grace period.
func TestChartHPA(t *testing.T) {
	r := render(t, valueSets["hpa"]...)
	require.Len(t, r.hpas, 1)
	h := r.hpas[0]
	require.Equal(t, "Deployment", h.Spec.ScaleTargetRef.Kind)
	require.Equal(t, r.deployments["api"].Name, h.Spec.ScaleTargetRef.Name)
	require.Equal(t, int32(3), *h.Spec.MinReplicas)
	require.Nil(t, r.deployments["api"].Spec.Replicas, "the HPA owns the API's replicas")
	require.NotContains(t, r.deployments, "paymentsim")
	pay := r.deployments["payment"].Spec.Template.Spec.Containers[0]
	require.Equal(t, "https://payments.example.com", env(pay, "PAYMENT_PROVIDER_URL"))
	require.Equal(t, "30s", env(pay, "SHUTDOWN_TIMEOUT"))
	require.Len(t, r.configMaps, 1)
	require.Contains(t, r.configMaps[0].Data["ordersaga.yaml"], "approval-threshold-cents: 50000")
	require.Equal(t, "/etc/ordersaga/ordersaga.yaml", env(pay, "ORDERSAGA_CONFIG"))
}

// TestChartRoleOverridesDefaults: a role's own block overrides the
// defaults, false and zero included, for that role alone; a role may run
// another image tag (the API held back while the workers upgrade).
func TestChartRoleOverridesDefaults(t *testing.T) {
	r := renderArgs(t, "--set", "orchestrator.pdb.enabled=false", "--set", "api.spreadOverNodes=false",
		"--set", "order.terminationGracePeriodSeconds=60", "--set", "projector.replicas=0",
		"--set", "image.repository=registry.example.com/ordersaga", "--set", "image.tag=v2", "--set", "api.imageTag=v1")
	require.Equal(t, "registry.example.com/ordersaga:v1", r.deployments["api"].Spec.Template.Spec.Containers[0].Image, "the API held back")
	require.Equal(t, "registry.example.com/ordersaga:v2", r.deployments["orchestrator"].Spec.Template.Spec.Containers[0].Image)
	require.Equal(t, "registry.example.com/ordersaga:v2", r.jobs[0].Spec.Template.Spec.Containers[0].Image, "setup runs the new version")
	require.Len(t, r.pdbs, len(r.deployments)-1)
	for _, p := range r.pdbs {
		require.NotEqual(t, "orchestrator", p.Labels["app.kubernetes.io/component"])
	}
	require.Empty(t, r.deployments["api"].Spec.Template.Spec.TopologySpreadConstraints)
	require.NotEmpty(t, r.deployments["order"].Spec.Template.Spec.TopologySpreadConstraints)
	require.Equal(t, int64(60), *r.deployments["order"].Spec.Template.Spec.TerminationGracePeriodSeconds)
	require.Equal(t, int64(30), *r.deployments["inventory"].Spec.Template.Spec.TerminationGracePeriodSeconds)
	require.Equal(t, int32(0), *r.deployments["projector"].Spec.Replicas)
}

// TestChartRefusesWhatRolesWouldRefuse: values a role would refuse at start
// fail the rendering, with a message naming the value.
func TestChartRefusesWhatRolesWouldRefuse(t *testing.T) {
	cases := map[string]struct {
		set  []string
		want string
	}{
		"grace not above shutdown": {[]string{"shutdownTimeoutSeconds=30"}, "must be longer than shutdownTimeoutSeconds"},
		"no Redis":                 {[]string{"secrets.values.REDIS_URL="}, "REDIS_URL is needed"},
		"existing Secret without the token": {[]string{"secrets.existingSecret=s", "secrets.keys={REDIS_URL,RABBITMQ_URL,API_KEYS,PAYMENT_PROVIDER_SECRET_KEY}"},
			"SERVICE_TOKEN is needed"},
		"no provider":                   {[]string{"paymentsim.enabled=false"}, "payment.providerURL"},
		"codec server without keys":     {[]string{"codecServer.enabled=true"}, "CODEC_KEYS is needed"},
		"a misspelt value (the schema)": {[]string{"api.replicaz=3"}, "additional properties 'replicaz' not allowed"},
		"no pollers (the schema)":       {[]string{"order.activityPollers=0"}, "minimum"},
		"existing Secret without keys":  {[]string{"secrets.existingSecret=s", "secrets.keys={REDIS_URL,RABBITMQ_URL,SERVICE_TOKEN,PAYMENT_PROVIDER_SECRET_KEY}"}, "the API needs"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			args := []string{"template", "shop", chartDir}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			_, err := helm(args...)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestChartLints runs `helm lint --strict` with every values set.
func TestChartLints(t *testing.T) {
	for name, files := range valueSets {
		args := []string{"lint", "--strict", chartDir}
		for _, f := range files {
			args = append(args, "--values", chartDir+"/"+f)
		}
		_, err := helm(args...)
		require.NoError(t, err, name)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestChartNotes: the release notes (a client-side dry-run install, no
// cluster) say how to read a generated admin key and warn of the demo URLs.
func TestChartNotes(t *testing.T) {
	out, err := helm("install", "shop", chartDir, "--dry-run=client", "--namespace", "orders", "--kubeconfig", "/nonexistent")
	require.NoError(t, err)
	_, notes, ok := strings.Cut(out, "NOTES:")
	require.True(t, ok, "the install prints its notes")
	require.Contains(t, notes, "get secret shop-ordersaga -o jsonpath='{.data.ADMIN_API_KEYS}'")
	require.Contains(t, notes, "WARNING: REDIS_URL or RABBITMQ_URL is still the chart's demo default")
	require.Contains(t, notes, "simulated provider")

	out, err = helm("install", "shop", chartDir, "--dry-run=client", "--namespace", "orders", "--kubeconfig", "/nonexistent",
		"--values", chartDir+"/ci/apikey-values.yaml", "--set", "paymentsim.enabled=false", "--set", "payment.providerURL=https://p.example.com")
	require.NoError(t, err)
	_, notes, _ = strings.Cut(out, "NOTES:")
	require.NotContains(t, notes, "admin key was generated")
	require.NotContains(t, notes, "WARNING")
	require.NotContains(t, notes, "simulated provider")
}
