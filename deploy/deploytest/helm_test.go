package deploytest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// root is the repository's root, from this package's directory.
var root = filepath.Join("..", "..")

// chartDir is the chart under test.
var chartDir = filepath.Join(root, "deploy", "helm", "ordersaga")

// helmBinary is the Helm pinned in tools/go.mod, built (or found in the
// build cache) once by `go tool -n`, which prints its path.
var helmBinary = sync.OnceValues(func() (string, error) {
	modfile, err := filepath.Abs(filepath.Join(root, "tools", "go.mod"))
	if err != nil {
		return "", err
	}
	var stderr bytes.Buffer
	cmd := exec.Command("go", "tool", "-n", "-modfile="+modfile, "helm")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("build the pinned helm (go tool -modfile=tools/go.mod helm): %w: %s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
})

// helm runs the pinned Helm and returns its standard output, or an error
// carrying its standard error. There is no fallback to a helm on the PATH
// and no skip: without the pinned Helm the test fails.
func helm(args ...string) (string, error) {
	bin, err := helmBinary()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// newObject returns an empty object of the API type that apiVersion and
// kind name, or an error for a kind the chart is not expected to make.
func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "batch/v1/Job":
		return &batchv1.Job{}, nil
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &monitoringv1.ServiceMonitor{}, nil
	}
	return nil, fmt.Errorf("unexpected kind %s %s", apiVersion, kind)
}

// decodeStrict decodes a stream of YAML documents (helm template's output)
// into the API types: a field the type does not have, a duplicate field or
// a value of the wrong type is an error, as `kubectl apply
// --validate=strict` would make it.
func decodeStrict(out string) ([]any, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(out)))
	var objs []any
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &tm); err != nil {
			return nil, err
		}
		if tm.Kind == "" && len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue // an empty document: a template that rendered nothing
		}
		obj, err := newObject(tm.APIVersion, tm.Kind)
		if err != nil {
			return nil, err
		}
		if err := yaml.UnmarshalStrict(doc, obj); err != nil {
			return nil, fmt.Errorf("%s: %w", tm.Kind, err)
		}
		objs = append(objs, obj)
	}
}

func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(append(out, line...), '\n')
		}
	}
	return out
}

// rendered is one rendering of the chart, indexed by kind.
type rendered struct {
	deployments     map[string]*appsv1.Deployment // by app.kubernetes.io/component
	services        map[string]*corev1.Service    // by name
	secrets         map[string]*corev1.Secret     // by name
	pdbs            []*policyv1.PodDisruptionBudget
	hpas            []*autoscalingv2.HorizontalPodAutoscaler
	jobs            []*batchv1.Job
	serviceMonitors []*monitoringv1.ServiceMonitor
	configMaps      []*corev1.ConfigMap
}

// render renders the chart as release "shop" with the given values files
// (paths relative to the chart) and decodes it strictly.
func render(t *testing.T, valuesFiles ...string) *rendered {
	t.Helper()
	var args []string
	for _, f := range valuesFiles {
		args = append(args, "--values", filepath.Join(chartDir, f))
	}
	return renderArgs(t, args...)
}

// renderArgs renders the chart with more arguments of helm template
// (--set, --values) and decodes it strictly.
func renderArgs(t *testing.T, more ...string) *rendered {
	t.Helper()
	out, err := helm(append([]string{"template", "shop", chartDir, "--namespace", "orders"}, more...)...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := decodeStrict(out)
	if err != nil {
		t.Fatalf("decode the rendered chart strictly: %v", err)
	}
	r := &rendered{deployments: map[string]*appsv1.Deployment{}, services: map[string]*corev1.Service{}, secrets: map[string]*corev1.Secret{}}
	for _, o := range objs {
		switch o := o.(type) {
		case *appsv1.Deployment:
			r.deployments[o.Labels["app.kubernetes.io/component"]] = o
		case *corev1.Service:
			r.services[o.Name] = o
		case *corev1.Secret:
			r.secrets[o.Name] = o
		case *policyv1.PodDisruptionBudget:
			r.pdbs = append(r.pdbs, o)
		case *autoscalingv2.HorizontalPodAutoscaler:
			r.hpas = append(r.hpas, o)
		case *batchv1.Job:
			r.jobs = append(r.jobs, o)
		case *monitoringv1.ServiceMonitor:
			r.serviceMonitors = append(r.serviceMonitors, o)
		case *corev1.ConfigMap:
			r.configMaps = append(r.configMaps, o)
		}
	}
	return r
}
