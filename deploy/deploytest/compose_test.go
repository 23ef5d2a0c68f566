package deploytest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// roles are the compose services that run ordersaga's long-running roles
// under a worker's shutdown discipline.
var composeRoles = []string{"orchestrator", "order", "inventory", "payment", "projector", "api", "payment-provider", "codec-server"}

// loadCompose loads docker-compose.yml as `docker compose` does, with
// compose-go validating it against the Compose specification's schema
// (an unknown key is an error), in an empty environment (the defaults).
func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root), cli.WithEnv(nil), cli.WithName("ordersaga"))
	require.NoError(t, err)
	p, err := opts.LoadProject(context.Background())
	require.NoError(t, err, "docker-compose.yml is valid Compose")
	return p
}

// TestComposeShutdownGrace: Docker's stop grace period of every role is
// longer than the time its activities get to finish (SHUTDOWN_TIMEOUT).
func TestComposeShutdownGrace(t *testing.T) {
	p := loadCompose(t)
	for _, name := range composeRoles {
		s, err := p.GetService(name)
		require.NoError(t, err)
		require.NotNil(t, s.StopGracePeriod, "%s: stop_grace_period", name)
		grace := time.Duration(*s.StopGracePeriod)
		timeout := 10 * time.Second // the flag's default
		if v := s.Environment["SHUTDOWN_TIMEOUT"]; v != nil {
			timeout, err = time.ParseDuration(*v)
			require.NoError(t, err)
		}
		require.Greater(t, grace, timeout, "%s: stop_grace_period above SHUTDOWN_TIMEOUT", name)
	}
}

// TestComposeCodecServer: the codec server decodes with the roles' keys,
// requires a key of its callers, and is published on loopback only.
func TestComposeCodecServer(t *testing.T) {
	p := loadCompose(t)
	codec, err := p.GetService("codec-server")
	require.NoError(t, err)
	require.Equal(t, []string{"codec-server"}, []string(codec.Command))
	require.NotContains(t, codec.Command, "--insecure-no-auth")
	require.NotEmpty(t, *codec.Environment["CODEC_AUTH_KEYS"])
	for _, name := range []string{"orchestrator", "order", "api"} {
		s, err := p.GetService(name)
		require.NoError(t, err)
		require.Equal(t, *codec.Environment["CODEC_KEYS"], *s.Environment["CODEC_KEYS"], "%s encrypts with the codec server's keys", name)
	}
	require.Len(t, codec.Ports, 1)
	require.Equal(t, "127.0.0.1", codec.Ports[0].HostIP)
	require.Equal(t, uint32(8234), codec.Ports[0].Target)
}

// dynamicConfig is the shape of a Temporal dynamic config file: each key,
// a list of values with constraints.
type dynamicConfig map[string][]struct {
	Value       any `yaml:"value"`
	Constraints struct {
		Namespace     string `yaml:"namespace"`
		TaskQueueName string `yaml:"taskQueueName"`
		TaskType      string `yaml:"taskType"`
	} `yaml:"constraints"`
}

// TestComposeTemporalDynamicConfig: Temporal reads deploy/temporal's
// dynamic config, which makes admission control's task queue stats fresh
// (1s, not 5s) on each of the saga's task queues and writes their tasks to
// one partition.
func TestComposeTemporalDynamicConfig(t *testing.T) {
	p := loadCompose(t)
	temporal, err := p.GetService("temporal")
	require.NoError(t, err)
	path := *temporal.Environment["DYNAMIC_CONFIG_FILE_PATH"]
	i := slices.IndexFunc(temporal.Volumes, func(v types.ServiceVolumeConfig) bool { return v.Target == path })
	require.GreaterOrEqual(t, i, 0, "the dynamic config file is mounted where DYNAMIC_CONFIG_FILE_PATH says")
	src, err := filepath.Rel(mustAbs(t, root), temporal.Volumes[i].Source)
	require.NoError(t, err)
	require.Equal(t, filepath.Join("deploy", "temporal", "dynamicconfig.yaml"), src)

	var dc dynamicConfig
	decodeYAMLStrict(t, filepath.Join(root, src), &dc)
	sagaQueues := []string{"ordersaga.orchestrator", "ordersaga.order", "ordersaga.inventory", "ordersaga.payment"}
	queues := map[string]string{}
	for _, v := range dc["matching.TaskQueueInfoByBuildIdTTL"] {
		queues[v.Constraints.TaskQueueName] = v.Value.(string)
	}
	for _, q := range sagaQueues {
		d, err := time.ParseDuration(queues[q])
		require.NoError(t, err, q)
		require.LessOrEqual(t, d, time.Second, q)
	}
	require.Equal(t, true, dc["frontend.enableUpdateWorkflowExecution"][0].Value)

	writes := map[string]any{}
	for _, v := range dc["matching.numTaskqueueWritePartitions"] {
		writes[v.Constraints.TaskQueueName] = v.Value
	}
	for _, q := range sagaQueues {
		require.Equal(t, 1, writes[q], "%s: tasks written to one partition (docs/production.md)", q)
	}
	require.NotContains(t, dc, "matching.numTaskqueueReadPartitions", "lowering the read partitions strands tasks on partitions 1-3")
}

// prometheusConfig is the part of Prometheus' configuration the compose
// stack uses; decoding refuses anything else.
type prometheusConfig struct {
	Global struct {
		ScrapeInterval     string `yaml:"scrape_interval"`
		EvaluationInterval string `yaml:"evaluation_interval"`
	} `yaml:"global"`
	ScrapeConfigs []struct {
		JobName      string `yaml:"job_name"`
		DNSSDConfigs []struct {
			Names           []string `yaml:"names"`
			Type            string   `yaml:"type"`
			Port            int      `yaml:"port"`
			RefreshInterval string   `yaml:"refresh_interval"`
		} `yaml:"dns_sd_configs"`
		RelabelConfigs []struct {
			SourceLabels []string `yaml:"source_labels"`
			TargetLabel  string   `yaml:"target_label"`
		} `yaml:"relabel_configs"`
	} `yaml:"scrape_configs"`
}

// TestComposePrometheusFindsReplicas: Prometheus finds every role's
// containers through DNS (so `--scale` adds targets), on the port each
// role serves /metrics on, and labels each target with its role.
func TestComposePrometheusFindsReplicas(t *testing.T) {
	p := loadCompose(t)
	prom, err := p.GetService("prometheus")
	require.NoError(t, err)
	require.Contains(t, prom.Volumes[0].Source, filepath.Join("deploy", "prometheus", "prometheus.yml"))
	var cfg prometheusConfig
	decodeYAMLStrict(t, filepath.Join(root, "deploy", "prometheus", "prometheus.yml"), &cfg)
	ports := map[string]int{}
	for _, sc := range cfg.ScrapeConfigs {
		require.NotEmpty(t, sc.DNSSDConfigs, "%s: discovered, not fixed targets", sc.JobName)
		require.Equal(t, "role", sc.RelabelConfigs[0].TargetLabel)
		for _, d := range sc.DNSSDConfigs {
			require.Equal(t, "A", d.Type)
			for _, n := range d.Names {
				ports[n] = d.Port
			}
		}
	}
	for _, name := range []string{"orchestrator", "order", "inventory", "payment", "projector", "api"} {
		s, err := p.GetService(name)
		require.NoError(t, err, "%s: a compose service of that name (Docker's DNS name)", name)
		addr := s.Environment["HTTP_ADDR"]
		if name == "api" {
			addr = s.Environment["API_ADDR"]
		}
		require.NotNil(t, addr)
		require.True(t, strings.HasSuffix(*addr, ":"+strconv.Itoa(ports[name])), "%s: scraped on the port it serves (%s)", name, *addr)
		require.Empty(t, s.ContainerName, "%s: no fixed container name, so it scales", name)
	}
}

func decodeYAMLStrict(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	require.NoError(t, dec.Decode(v), path)
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}
