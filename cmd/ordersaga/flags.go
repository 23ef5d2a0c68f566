package main

import (
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/ordersaga/ordersaga/api"
	"github.com/ordersaga/ordersaga/internal/codec"
	"github.com/ordersaga/ordersaga/internal/redislua"
	"github.com/ordersaga/ordersaga/internal/temporalclient"
	"github.com/ordersaga/ordersaga/workflows"
)

// CLI is the whole configuration surface: every flag, its environment
// variable and its default. It is loaded in one place, run(). Commands
// tagged role are long-running roles: a scoped setting given to one that
// does not read it is refused (see checkScoped).
type CLI struct {
	LogLevel  string          `env:"LOG_LEVEL" default:"info" enum:"debug,info,warn,error" help:"Log level (${enum})."`
	LogFormat string          `env:"LOG_FORMAT" default:"text" enum:"text,json" help:"Log format (${enum})."`
	Config    kong.ConfigFlag `env:"ORDERSAGA_CONFIG" placeholder:"FILE" help:"YAML file of settings: flag names as keys, at the top level for every role that takes them, or under a role's name (worker:, api:, ...) for that role alone. Flags beat the environment, which beats the file."`

	FullCommands
	Worker          WorkerCmd          `cmd:"" role:"" help:"Run the workers of some services, each on its own task queue (production role)."`
	API             APICmd             `cmd:"" role:"" name:"api" help:"Run the HTTP API (production role)."`
	Projector       ProjectorCmd       `cmd:"" role:"" help:"Run the order timeline projector: consumes every domain event into each order's timeline."`
	PaymentProvider PaymentProviderCmd `cmd:"" role:"" help:"Run the simulated payment provider."`
	CodecServer     CodecServerCmd     `cmd:"" role:"" help:"Serve the payload codec for the Temporal Web UI and CLI to decode encrypted payloads."`
	Setup           SetupCmd           `cmd:"" help:"Register the saga's search attributes in the namespace (once per namespace, with an operator credential; idempotent)."`
	ConfigShow      ConfigCmd          `cmd:"" name:"config" help:"Print the effective configuration of a command (e.g. config worker --services order), secrets redacted."`
	Tap             TapCmd             `cmd:"" help:"Print the domain events as they are published, one JSON line each."`
	History         HistoryCmd         `cmd:"" help:"Export workflow histories."`
	Replay          ReplayCmd          `cmd:"" help:"Replay recorded histories with the current workflow code; exits non-zero if any fails."`
	Version         VersionCmd         `cmd:"" help:"Print the version, commit, Go version and saga revision."`
	Healthcheck     HealthcheckCmd     `cmd:"" help:"GET a URL (a role's /readyz) and exit 0 if it answers 2xx: for a container's HEALTHCHECK."`
}

// TemporalFlags say which Temporal cluster to use and how to encrypt the
// payloads written to it.
type TemporalFlags struct {
	TemporalConnFlags `embed:""`
	CodecFlags        `embed:""`
}

// TemporalConnFlags say which Temporal cluster to use. TLS, the API key and
// gRPC metadata come from a Temporal CLI profile and the TEMPORAL_*
// variables (go.temporal.io/sdk/contrib/envconfig); the address and the
// namespace given here override the profile's.
type TemporalConnFlags struct {
	TemporalAddress    string `env:"TEMPORAL_ADDRESS" help:"Temporal frontend host:port (default: the profile's, else 127.0.0.1:7233)."`
	TemporalNamespace  string `env:"TEMPORAL_NAMESPACE" help:"Temporal namespace (default: the profile's, else default)."`
	TemporalConfigFile string `env:"TEMPORAL_CONFIG_FILE" help:"TOML file of Temporal client profiles, the Temporal CLI's (default: its default path, if it exists)."`
	TemporalProfile    string `env:"TEMPORAL_PROFILE" help:"Profile of --temporal-config-file (default: default). It and the variables TEMPORAL_API_KEY (or TEMPORAL_API_KEY_FILE), TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH/_DATA, TEMPORAL_TLS_CLIENT_KEY_PATH/_DATA, TEMPORAL_TLS_SERVER_CA_CERT_PATH/_DATA, TEMPORAL_TLS_SERVER_NAME and TEMPORAL_GRPC_META_* set TLS, the API key and gRPC metadata."`
}

// connection is where f says Temporal is.
func (f TemporalConnFlags) connection() temporalclient.Connection {
	return temporalclient.Connection{
		Address: f.TemporalAddress, Namespace: f.TemporalNamespace, ConfigFile: f.TemporalConfigFile, Profile: f.TemporalProfile,
	}
}

// CodecFlags configure payload encryption. Every process that talks to
// Temporal (workers, API, replay) must use the same keys.
type CodecFlags struct {
	CodecKeys  string `env:"CODEC_KEYS" secret:"" help:"Encrypt Temporal payloads with AES-256-GCM: comma-separated id:base64(32-byte key); empty: no encryption."`
	CodecKeyID string `env:"CODEC_KEY_ID" help:"ID of the key that encrypts new payloads (default: the first of --codec-keys); the others still decrypt."`
	// CodecAllowPlaintext is for the migration to encryption: histories
	// written before it hold plaintext payloads that workers replay.
	CodecAllowPlaintext bool `env:"CODEC_ALLOW_PLAINTEXT" help:"With --codec-keys: accept payloads that are not encrypted (histories from before encryption was turned on) instead of refusing them; only while those are migrated."`
}

// keyring parses the codec keys; nil when encryption is off.
func (f CodecFlags) keyring() (*codec.Keyring, error) {
	if f.CodecKeys == "" {
		return nil, nil
	}
	k, err := codec.ParseKeys(f.CodecKeys, f.CodecKeyID)
	if err != nil {
		return nil, err
	}
	k.AllowPlaintext = f.CodecAllowPlaintext
	return k, nil
}

// CodecServerFlags configure the codec server the Web UI and the Temporal
// CLI decode payloads with.
type CodecServerFlags struct {
	CodecAddr     string `env:"CODEC_ADDR" default:"127.0.0.1:8234" help:"Address the codec server listens on (dev: with --codec-keys)."`
	CodecAuthKeys string `env:"CODEC_AUTH_KEYS" secret:"" help:"Keys (client:key,...) that may call the codec server, besides the admin API keys; they grant nothing else."`
	// Encoding is a right of its own: an encoded payload is one the
	// workers accept as genuine.
	CodecEncodeKeys string `env:"CODEC_ENCODE_KEYS" secret:"" help:"Keys (client:key,...) that may POST /encode (the others, admin keys included, only decode); encoding is off when empty. The Web UI needs only decode."`
}

// encoders returns the keys that may encode (key → client name).
func (f CodecServerFlags) encoders() (map[string]string, error) {
	return parseKeys("--codec-encode-keys", f.CodecEncodeKeys)
}

// HTTPFlags bound the connections of every HTTP listener of the process
// (API, payment provider, codec server, a role's --http-addr). Zero is the
// default.
type HTTPFlags struct {
	HTTPReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT" default:"5s" help:"Time a client has to send a request's headers."`
	HTTPReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT" default:"10s" help:"Time a client has to send a whole request, body included."`
	HTTPWriteTimeout      time.Duration `env:"HTTP_WRITE_TIMEOUT" default:"20s" help:"Time from a request's headers to the end of its response: at least 1s above --http-read-timeout plus --api-request-timeout (or --provider-slow-delay)."`
	HTTPIdleTimeout       time.Duration `env:"HTTP_IDLE_TIMEOUT" default:"2m" help:"How long an idle keep-alive connection stays open."`
}

// CommonRedisFlags say where the keyspaces every process may use live: the
// default Redis, the timeline's, and the key prefix. The API and the
// projector take only these: they never open a service's Redis.
type CommonRedisFlags struct {
	RedisURL         string `env:"REDIS_URL" secret:"" default:"redis://127.0.0.1:6379/0" help:"Redis of every keyspace not given its own (the services', the timeline's, the API's idempotency records). Every Redis URL may name a Redis Cluster (redis://h1:7001?addr=h2:7001&addr=h3:7001) and ask for wait_replicas=N: see docs/redis.md."`
	TimelineRedisURL string `env:"TIMELINE_REDIS_URL" secret:"" help:"Redis of the order timeline (default: --redis-url)."`
	RedisKeyPrefix   string `env:"REDIS_KEY_PREFIX" help:"Prefix of every key, before each keyspace ({order}:, {inventory}:, {payment}:, timeline:, api:, {paymentsim}:)."`
}

func (f CommonRedisFlags) timelineURL() string { return or(f.TimelineRedisURL, f.RedisURL) }

// keyspace returns a service's keyspace under the optional global prefix:
// one Redis Cluster hash slot (redislua.NewKeyspace).
func (f CommonRedisFlags) keyspace(name string) redislua.Keyspace {
	return redislua.NewKeyspace(f.RedisKeyPrefix, name)
}

// prefix returns the key prefix of a keyspace whose keys tag themselves
// (the timeline's by order, the API's by client and key): they spread over
// a Redis Cluster.
func (f CommonRedisFlags) prefix(name string) string { return f.RedisKeyPrefix + name + ":" }

// RabbitFlags say where the domain events go.
type RabbitFlags struct {
	RabbitMQURL      string `name:"rabbitmq-url" env:"RABBITMQ_URL" secret:"" default:"amqp://guest:guest@127.0.0.1:5672/" help:"RabbitMQ of the domain events."`
	RabbitMQExchange string `name:"rabbitmq-exchange" env:"RABBITMQ_EXCHANGE" default:"ordersaga.events" help:"Topic exchange of the domain events; <exchange>.dlx/.dlq and .unrouted are derived from it."`
}

// TimelineFlags configure the order timeline projector.
type TimelineFlags struct {
	TimelineQueue         string `env:"TIMELINE_QUEUE" default:"ordersaga.timeline" help:"The projector's own durable queue."`
	TimelinePrefetch      int    `env:"TIMELINE_PREFETCH" default:"64" help:"Unacknowledged deliveries in flight."`
	TimelineDeliveryLimit int    `env:"TIMELINE_DELIVERY_LIMIT" default:"5" help:"Deliveries of a message that keeps failing before it is dead-lettered."`
}

// SagaFlags are the saga's tunables. The orchestrator's workers read them
// (`worker` running the orchestrator service, and `dev`); each saga records
// the values it started with. Starters (the API) have no say in them. They
// are scoped: set for a role that does not read them (in the environment
// or the config file), they are refused rather than ignored.
type SagaFlags struct {
	ApprovalThresholdCents    int64         `scoped:"" env:"APPROVAL_THRESHOLD_CENTS" default:"100000" help:"Orders totalling at least this wait for an approval (negative: never). Read by the orchestrator's workers, recorded in each saga they start."`
	ApprovalTimeout           time.Duration `scoped:"" env:"APPROVAL_TIMEOUT" default:"24h" help:"An order not approved within this is cancelled."`
	CompensationAlertAttempts int32         `scoped:"" env:"COMPENSATION_ALERT_ATTEMPTS" default:"10" help:"Failed attempts of one compensation after which the saga shows FAILED (it keeps retrying)."`
	CompensationMaxInterval   time.Duration `scoped:"" env:"COMPENSATION_MAX_INTERVAL" default:"1m" help:"Longest wait between compensation attempts."`
	PaymentRetryBudget        time.Duration `scoped:"" env:"PAYMENT_RETRY_BUDGET" default:"15m" help:"How long each payment step (the authorization, the capture) retries transient provider failures (5xx, timeouts, an open circuit; backoff capped at 30s) before the saga compensates. A decline compensates at once."`
}

func (f SagaFlags) options() workflows.Options {
	return workflows.Options{
		ApprovalThresholdCents:    f.ApprovalThresholdCents,
		ApprovalTimeout:           f.ApprovalTimeout,
		CompensationAlertAttempts: f.CompensationAlertAttempts,
		CompensationMaxInterval:   f.CompensationMaxInterval,
		PaymentRetryBudget:        f.PaymentRetryBudget,
	}
}

// ProviderFlags configure the simulated payment provider.
type ProviderFlags struct {
	ProviderAddr          string        `env:"PAYMENT_PROVIDER_ADDR" default:"127.0.0.1:8090" help:"Address the simulated payment provider listens on."`
	ProviderSlowDelay     time.Duration `env:"PAYMENT_PROVIDER_SLOW_DELAY" default:"3s" help:"How late tok_slow's first charge attempt answers (more than --payment-timeout)."`
	ProviderFlakyFailures int           `env:"PAYMENT_PROVIDER_FLAKY_FAILURES" default:"2" help:"Charge attempts of tok_flaky answered with 503."`
}

// ProviderKeyFlags hold the payment provider's secret key: the provider
// requires it, the payment service sends it.
type ProviderKeyFlags struct {
	ProviderSecretKey string `name:"provider-secret-key" env:"PAYMENT_PROVIDER_SECRET_KEY" secret:"" help:"Secret key (at least 16 characters) of the payment provider: it requires it of every caller, the payment service sends it (Authorization: Bearer). The provider may run without one only on a loopback address; dev makes one at each start."`
}

// providerKey returns the provider's secret key, "" if none.
func (f ProviderKeyFlags) providerKey() (string, error) {
	if key := f.ProviderSecretKey; key != "" && len(key) < 16 {
		return "", fmt.Errorf("--provider-secret-key: want at least 16 characters")
	}
	return f.ProviderSecretKey, nil
}

// APIFlags configure the HTTP API.
type APIFlags struct {
	APIAddr              string        `name:"api-addr" env:"API_ADDR" default:"127.0.0.1:8080" help:"Address the HTTP API listens on. A non-loopback address needs API keys (or --insecure-no-auth)."`
	MaxBodyBytes         int64         `env:"API_MAX_BODY_BYTES" default:"65536" help:"Largest request body accepted."`
	APIRequestTimeout    time.Duration `name:"api-request-timeout" env:"API_REQUEST_TIMEOUT" default:"5s" help:"Bound on each request's calls to Temporal, Redis and the services; past it the API answers 503 with Retry-After."`
	APIKeys              string        `name:"api-keys" env:"API_KEYS" secret:"" help:"Client keys (client:key,...): place orders, read, list and cancel their own. With any key configured every /v1 request needs one."`
	ApproverAPIKeys      string        `name:"approver-api-keys" env:"APPROVER_API_KEYS" secret:"" help:"Approver keys (name:key,...): approve orders, read any order."`
	AdminAPIKeys         string        `name:"admin-api-keys" env:"ADMIN_API_KEYS" secret:"" help:"Admin keys (name:key,...): everything, including inventory writes and operator actions."`
	InsecureNoAuth       bool          `name:"insecure-no-auth" env:"INSECURE_NO_AUTH" help:"Allow the API to listen on a non-loopback address without any API key (everyone is admin)."`
	IdempotencyRetention time.Duration `env:"IDEMPOTENCY_RETENTION" default:"24h" help:"How long responses to requests with an Idempotency-Key are kept for replay."`
	AdmissionFlags       `embed:""`
	FairUseFlags         `embed:""`
	StranglerFlags       `embed:""`
}

// FairUseFlags bound what one client may ask of the API (docs/overload.md,
// docs/security.md): a client is the principal its API key names, or with
// auth off the address it connects from. The quotas live in the API's
// Redis, shared by its replicas. Zero turns a bound off.
type FairUseFlags struct {
	RateLimitWrites      float64 `env:"RATE_LIMIT_WRITES" default:"50" help:"Writes (POST, PUT) a second each client's quota refills at; past its burst a write answers 429 rate_limited with Retry-After and RateLimit headers. 0: no limit."`
	RateLimitWritesBurst int     `env:"RATE_LIMIT_WRITES_BURST" default:"100" help:"Writes a client may send at once."`
	RateLimitReads       float64 `env:"RATE_LIMIT_READS" default:"200" help:"Read units (GET; a list takes --rate-limit-list-cost) a second each client's quota refills at. 0: no limit."`
	RateLimitReadsBurst  int     `env:"RATE_LIMIT_READS_BURST" default:"400" help:"Read units a client may spend at once."`
	RateLimitListCost    int     `env:"RATE_LIMIT_LIST_COST" default:"10" help:"Read units one list (GET /v1/orders, a visibility query) takes."`
	MaxAwaitingApproval  int64   `env:"MAX_AWAITING_APPROVAL" default:"50" help:"Orders awaiting approval a client may have; at it, its new orders answer 429 too_many_awaiting_approval. 0: no bound."`
}

// limits are the API's rate limits.
func (f FairUseFlags) limits() api.RateLimits {
	return api.RateLimits{WritesPerSecond: f.RateLimitWrites, WritesBurst: f.RateLimitWritesBurst,
		ReadsPerSecond: f.RateLimitReads, ReadsBurst: f.RateLimitReadsBurst, ListCost: f.RateLimitListCost}
}

// AdmissionFlags configure admission control of new orders (POST
// /v1/orders): past the bound the API sheds them rather than let every
// saga slow down.
type AdmissionFlags struct {
	AdmissionMaxBacklogAge  time.Duration `env:"ADMISSION_MAX_BACKLOG_AGE" default:"50ms" help:"Refuse new orders (429 overloaded, with Retry-After) while the oldest saga task waiting for a worker - on the orchestrator's workflow task queue or a service's activity task queue - is at least this old. 0: admit every order."`
	AdmissionSampleInterval time.Duration `env:"ADMISSION_SAMPLE_INTERVAL" default:"100ms" help:"How often the API samples the backlog of the saga's task queues (Temporal's task queue stats, which a server caches for its dynamic config matching.TaskQueueInfoByBuildIdTTL: 5s unless lowered for these queues; the embedded server's is 50ms)."`
	AdmissionRetryAfter     time.Duration `env:"ADMISSION_RETRY_AFTER" default:"1s" help:"Retry-After of a refused order (whole seconds, at least 1)."`
	AdmissionMissingFlags   `embed:""`
}

// AdmissionMissingFlags tell a service without workers from overload: its
// orders are accepted and wait for it.
type AdmissionMissingFlags struct {
	AdmissionMaxWaitingOnMissing int64         `env:"ADMISSION_MAX_WAITING_ON_MISSING" default:"1000" help:"Tasks that may wait on a service without workers (stopped, crashed, between deploys) while new orders are still accepted; at it they answer 503 service_missing. 0: refuse at once."`
	AdmissionMissingAfter        time.Duration `env:"ADMISSION_MISSING_AFTER" default:"5s" help:"How long a task must wait on a queue no worker has polled since, before its service counts as missing (not overloaded)."`
}

// auth parses the configured keys. Without any, it refuses a non-loopback
// address unless --insecure-no-auth: a production role never listens
// openly without credentials.
func (f APIFlags) auth() (api.Auth, error) {
	var a api.Auth
	var err error
	if a.Keys, err = parseKeys("--api-keys", f.APIKeys); err != nil {
		return api.Auth{}, err
	}
	if a.ApproverKeys, err = parseKeys("--approver-api-keys", f.ApproverAPIKeys); err != nil {
		return api.Auth{}, err
	}
	if a.AdminKeys, err = parseKeys("--admin-api-keys", f.AdminAPIKeys); err != nil {
		return api.Auth{}, err
	}
	if err := a.Validate(); err != nil {
		return api.Auth{}, fmt.Errorf("api keys: %w", err)
	}
	if !a.Enabled() && !f.InsecureNoAuth && !loopback(f.APIAddr) {
		return api.Auth{}, fmt.Errorf("api: refusing to listen on %s without API keys: give --api-keys/--approver-api-keys/--admin-api-keys, "+
			"listen on a loopback address (--api-addr 127.0.0.1:8080), or pass --insecure-no-auth", f.APIAddr)
	}
	return a, nil
}

// loopback reports whether addr (host:port) binds only a loopback
// interface. An empty host binds every interface.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseKeys parses "client:key,client:key" into key → client.
// clientName is what a client's name may be: it is recorded on its orders
// (the ClientId search attribute, matched exactly in list queries) and in
// audit lines, so it is kept to characters the list query matches once
// quoted (a backslash or a double quote does not).
var clientName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@'-]{0,63}$`)

func parseKeys(flag, spec string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, key, ok := strings.Cut(part, ":")
		if !ok || name == "" || len(key) < 16 {
			return nil, fmt.Errorf("%s: want client:key with a key of at least 16 characters, got %q", flag, name+":…")
		}
		if name == api.Anonymous {
			return nil, fmt.Errorf("%s: client name %q is reserved: orders placed while auth was off belong to it", flag, name)
		}
		if !clientName.MatchString(name) {
			return nil, fmt.Errorf("%s: client name %q: want 1 to 64 of A-Z a-z 0-9 . _ @ ' -, starting with a letter or digit", flag, name)
		}
		out[key] = name
	}
	return out, nil
}

// WorkerFlags tune the workers.
type WorkerFlags struct {
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" default:"10s" help:"How long running activities get to finish on shutdown; an activity cut short is retried."`
	WorkflowPollers int           `env:"WORKER_WORKFLOW_POLLERS" default:"2" help:"Workflow task pollers per worker (the SDK's default is 2)."`
	ActivityPollers int           `env:"WORKER_ACTIVITY_POLLERS" default:"2" help:"Activity task pollers per worker (the SDK's default is 2)."`
	StickyTimeout   time.Duration `env:"WORKER_STICKY_TIMEOUT" default:"5s" help:"How long a workflow task waits for this worker (which caches the workflow) before any worker may take it (the SDK's default is 5s)."`
}

// ServiceTokenFlags hold the bearer credential the gateway and the
// services' APIs share.
type ServiceTokenFlags struct {
	ServiceToken string `env:"SERVICE_TOKEN" secret:"" help:"Bearer credential (at least 16 characters) shared by the gateway and the services' APIs: the services require it, the gateway sends it."`
}

// serviceToken returns the token, refusing one shorter than 16
// characters. A role serving a service API (serves) on a non-loopback
// address must have one unless insecure: a production role never listens
// openly without credentials.
func (f ServiceTokenFlags) serviceToken(addr string, serves, insecure bool) (string, error) {
	switch {
	case f.ServiceToken != "" && len(f.ServiceToken) < 16:
		return "", fmt.Errorf("--service-token: at least 16 characters, got %d", len(f.ServiceToken))
	case f.ServiceToken == "" && serves && !insecure && !loopback(addr):
		return "", fmt.Errorf("refusing to serve the service APIs on %s without a token: give --service-token, "+
			"listen on a loopback address (--http-addr 127.0.0.1:9101), or pass --insecure-no-auth", addr)
	}
	return f.ServiceToken, nil
}

// GatewayFlags tune the gateway's calls to the services' APIs.
type GatewayFlags struct {
	ServiceTimeout time.Duration `env:"SERVICE_TIMEOUT" default:"1s" help:"Timeout of one call to a service's API (a read is tried twice at most; a circuit breaker per service fails fast after 5 consecutive failures, for 5s)."`
}

func or(s, fallback string) string {
	if s != "" {
		return s
	}
	return fallback
}
