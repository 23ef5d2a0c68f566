package deploytest

import (
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// valueSets are the chart's values files the tests render: the defaults,
// and each of ci/ (also what `task lint` lints).
var valueSets = map[string][]string{
	"defaults":       nil,
	"mtls":           {"ci/mtls-values.yaml"},
	"apikey":         {"ci/apikey-values.yaml"},
	"servicemonitor": {"ci/servicemonitor-values.yaml"},
	"hpa":            {"ci/hpa-values.yaml"},
}

// rolePaths is what each role serves: its readiness path ("" for a TCP
// check), whether it serves /metrics, and whether it talks to Temporal.
var rolePaths = map[string]struct {
	ready             string
	metrics, temporal bool
}{
	"orchestrator": {"/readyz", true, true},
	"order":        {"/readyz", true, true},
	"inventory":    {"/readyz", true, true},
	"payment":      {"/readyz", true, true},
	"projector":    {"/readyz", true, false},
	"api":          {"/readyz", true, true},
	"paymentsim":   {"/healthz", false, false},
	"codec-server": {"", false, false},
}

// secretVar matches the variables that carry a secret: the ones ordersaga
// tags secret (docs/production.md "Secrets as files") and Temporal's.
var secretVar = regexp.MustCompile(`^(REDIS_URL|ORDER_REDIS_URL|INVENTORY_REDIS_URL|PAYMENT_REDIS_URL|TIMELINE_REDIS_URL|RABBITMQ_URL|.*_KEYS|.*_TOKEN|.*_SECRET_KEY|TEMPORAL_API_KEY|TEMPORAL_TLS_CLIENT_KEY_DATA|.*PASSWORD.*)$`)

// TestChartRendersStrictly renders every values set and decodes every
// manifest into the Kubernetes API types (the Prometheus Operator's for a
// ServiceMonitor), failing on a field the type does not have; then checks
// what every rendering must hold.
func TestChartRendersStrictly(t *testing.T) {
	for name, files := range valueSets {
		t.Run(name, func(t *testing.T) {
			r := render(t, files...)
			require.NotEmpty(t, r.deployments)
			for role, d := range r.deployments {
				t.Run(role, func(t *testing.T) {
					checkRole(t, r, role, d)
				})
			}
			checkSetupHook(t, r)
		})
	}
}

// TestStrictDecodingRefusesUnknownFields: the decoding the chart test
// relies on refuses a misspelt field and a field at the wrong level.
func TestStrictDecodingRefusesUnknownFields(t *testing.T) {
	for _, doc := range []string{
		"apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {ports: [{port: 80, targetPortt: http}]}\n",
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replicas: 1, livenessProbe: {}}\n",
		"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec: {endpoints: [{port: http, intervall: 5s}]}\n",
	} {
		_, err := decodeStrict(doc)
		require.ErrorContains(t, err, "unknown field", doc)
	}
	_, err := decodeStrict("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n")
	require.ErrorContains(t, err, "unexpected kind")
}

// checkRole checks one role's Deployment: its probes and port, its
// hardening, that its secrets are files only, and its Service and PDB.
func checkRole(t *testing.T, r *rendered, role string, d *appsv1.Deployment) {
	want, ok := rolePaths[role]
	require.True(t, ok, "a Deployment of an unknown role")
	pod := d.Spec.Template.Spec
	require.Len(t, pod.Containers, 1)
	c := pod.Containers[0]
	require.Len(t, c.Ports, 1)
	require.Equal(t, "http", c.Ports[0].Name)
	require.NotNil(t, c.LivenessProbe, "liveness probe")
	require.NotNil(t, c.ReadinessProbe, "readiness probe")
	if want.ready == "" {
		require.NotNil(t, c.LivenessProbe.TCPSocket)
		require.NotNil(t, c.ReadinessProbe.TCPSocket)
	} else {
		require.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
		require.Equal(t, want.ready, c.ReadinessProbe.HTTPGet.Path)
		require.Equal(t, "http", c.LivenessProbe.HTTPGet.Port.String())
		require.Equal(t, "http", c.ReadinessProbe.HTTPGet.Port.String())
	}
	listen := env(c, "HTTP_ADDR") + env(c, "API_ADDR") + env(c, "PAYMENT_PROVIDER_ADDR") + env(c, "CODEC_ADDR")
	require.Equal(t, "0.0.0.0:"+strconv.Itoa(int(c.Ports[0].ContainerPort)), listen, "the role listens on its container port")

	checkHardened(t, pod, c)
	checkSecretsAreFiles(t, pod, c)
	checkGrace(t, pod, c)
	require.NotEmpty(t, c.Resources.Requests, "resource requests")
	require.NotEmpty(t, c.Resources.Limits, "resource limits")
	_, scrapeAnnotated := d.Spec.Template.Annotations["prometheus.io/scrape"]
	require.Equal(t, want.metrics && len(r.serviceMonitors) == 0, scrapeAnnotated, "prometheus.io annotations unless ServiceMonitors")
	if want.temporal {
		require.True(t, env(c, "TEMPORAL_ADDRESS") != "" || env(c, "TEMPORAL_CONFIG_FILE") != "", "Temporal's address or profile")
	}

	pods := labels.Set(d.Spec.Template.Labels)
	svc := r.services[d.Name]
	require.NotNil(t, svc, "a Service per HTTP listener")
	require.True(t, labels.SelectorFromSet(svc.Spec.Selector).Matches(pods), "the Service selects the role's pods")
	require.Equal(t, "http", svc.Spec.Ports[0].TargetPort.String())
	require.Equal(t, 1, countMatching(t, r, pods), "one PodDisruptionBudget selects the role's pods")
}

// checkHardened: non-root, read-only root filesystem, no privilege
// escalation, no capabilities, no service account token.
func checkHardened(t *testing.T, pod corev1.PodSpec, c corev1.Container) {
	sc := c.SecurityContext
	require.NotNil(t, sc)
	require.True(t, *sc.RunAsNonRoot || *pod.SecurityContext.RunAsNonRoot, "non-root")
	require.True(t, *sc.ReadOnlyRootFilesystem, "read-only root filesystem")
	require.False(t, *sc.AllowPrivilegeEscalation)
	require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
	require.NotZero(t, *pod.SecurityContext.RunAsUser)
	require.False(t, *pod.AutomountServiceAccountToken)
}

// checkSecretsAreFiles: no secret is an environment value or a
// Secret-backed variable, and each X_FILE names a file of a mounted
// Secret volume that projects that key.
func checkSecretsAreFiles(t *testing.T, pod corev1.PodSpec, c corev1.Container) {
	for _, e := range c.Env {
		require.Nil(t, e.ValueFrom, "%s: no value from a Secret or ConfigMap in the environment", e.Name)
		require.False(t, secretVar.MatchString(e.Name), "%s: a secret given as an environment value", e.Name)
	}
	for _, a := range append(c.Command, c.Args...) {
		require.NotContains(t, a, "://", "no URL (which may carry a password) on the command line")
	}
	files := secretFiles(pod, c)
	for _, e := range c.Env {
		name, ok := strings.CutSuffix(e.Name, "_FILE")
		if !ok {
			continue
		}
		if e.Name == "TEMPORAL_CONFIG_FILE" { // the profile, with the files it names
			require.Contains(t, secretDirs(pod, c), path.Dir(e.Value), "the Temporal profile comes from a Secret")
			continue
		}
		require.True(t, secretVar.MatchString(name), "%s: a file of a secret variable", e.Name)
		require.Contains(t, files, e.Value, "%s names a file of a mounted Secret", e.Name)
		require.Equal(t, name, path.Base(e.Value))
	}
}

// secretFiles returns the paths at which c sees the keys of Secret volumes.
func secretFiles(pod corev1.PodSpec, c corev1.Container) []string {
	var files []string
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			for _, it := range v.Secret.Items {
				files = append(files, path.Join(m.MountPath, it.Path))
			}
		}
	}
	return files
}

// secretDirs returns the directories at which c mounts whole Secrets.
func secretDirs(pod corev1.PodSpec, c corev1.Container) []string {
	var dirs []string
	for _, m := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == m.Name && v.Secret != nil && len(v.Secret.Items) == 0 {
				dirs = append(dirs, m.MountPath)
			}
		}
	}
	return dirs
}

// checkGrace: a worker's pod gets longer to stop than its activities get
// to finish (SHUTDOWN_TIMEOUT).
func checkGrace(t *testing.T, pod corev1.PodSpec, c corev1.Container) {
	grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
	require.GreaterOrEqual(t, grace, 10*time.Second)
	if s := env(c, "WORKER_SERVICES"); s != "" {
		timeout, err := time.ParseDuration(env(c, "SHUTDOWN_TIMEOUT"))
		require.NoError(t, err)
		require.Greater(t, grace, timeout, "terminationGracePeriodSeconds above SHUTDOWN_TIMEOUT")
		require.NotEmpty(t, env(c, "WORKER_WORKFLOW_POLLERS"))
		require.NotEmpty(t, env(c, "WORKER_ACTIVITY_POLLERS"))
	}
}

func countMatching(t *testing.T, r *rendered, pods labels.Set) int {
	n := 0
	for _, p := range r.pdbs {
		require.True(t, p.Spec.MaxUnavailable != nil || p.Spec.MinAvailable != nil)
		if labels.SelectorFromSet(p.Spec.Selector.MatchLabels).Matches(pods) {
			n++
		}
	}
	return n
}

// checkSetupHook: `ordersaga setup` runs as a pre-install and pre-upgrade
// hook, hardened, with Temporal's connection like the roles'.
func checkSetupHook(t *testing.T, r *rendered) {
	require.Len(t, r.jobs, 1)
	j := r.jobs[0]
	hooks := strings.Split(j.Annotations["helm.sh/hook"], ",")
	require.Contains(t, hooks, "pre-install")
	require.Contains(t, hooks, "pre-upgrade")
	pod := j.Spec.Template.Spec
	c := pod.Containers[0]
	require.Equal(t, []string{"setup"}, c.Args)
	require.Equal(t, corev1.RestartPolicyNever, pod.RestartPolicy)
	checkHardened(t, pod, c)
	checkSecretsAreFiles(t, pod, c)
	require.True(t, env(c, "TEMPORAL_ADDRESS") != "" || env(c, "TEMPORAL_CONFIG_FILE") != "")
	require.Empty(t, pod.ServiceAccountName, "the release's ServiceAccount does not exist yet at pre-install")
}

func env(c corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func hasEnv(c corev1.Container, name string) bool {
	return slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == name })
}
