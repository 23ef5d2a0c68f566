{{/*
The chart's helpers. Every role is one entry of ordersaga.roles: what it
runs, the port of its HTTP listener, its probes and the secrets it reads.
The Deployment, Service, PodDisruptionBudget and ServiceMonitor templates
loop over it, so a role is described once.
*/}}

{{- define "ordersaga.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ordersaga.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ordersaga.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "ordersaga.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ordersaga
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one role: (dict "ctx" $ "role" "api"). */}}
{{- define "ordersaga.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ordersaga.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "ordersaga.roleLabels" -}}
{{ include "ordersaga.labels" .ctx }}
app.kubernetes.io/component: {{ .role }}
{{- end -}}

{{- define "ordersaga.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{- define "ordersaga.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ordersaga.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ordersaga.secretName" -}}
{{- default (include "ordersaga.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/*
ordersaga.roles: every role, as YAML. args: the command; env: what makes
it that role; port: its HTTP listener; ready: its readiness path ("" for a
TCP check: the codec server serves no probe path); metrics: whether it
serves /metrics; temporal: whether it talks to Temporal; worker: whether it
takes the worker tuning; secrets: the variables it reads from files.
*/}}
{{- define "ordersaga.roles" -}}
orchestrator:
  args: [worker]
  env: {WORKER_SERVICES: orchestrator, HTTP_ADDR: "0.0.0.0:9100"}
  port: 9100
  ready: /readyz
  metrics: true
  temporal: true
  worker: true
  secrets: [CODEC_KEYS]
order:
  args: [worker]
  env: {WORKER_SERVICES: order, HTTP_ADDR: "0.0.0.0:9100"}
  port: 9100
  ready: /readyz
  metrics: true
  temporal: true
  worker: true
  secrets: [CODEC_KEYS, REDIS_URL, ORDER_REDIS_URL, RABBITMQ_URL, SERVICE_TOKEN]
inventory:
  args: [worker]
  env: {WORKER_SERVICES: inventory, HTTP_ADDR: "0.0.0.0:9100"}
  port: 9100
  ready: /readyz
  metrics: true
  temporal: true
  worker: true
  secrets: [CODEC_KEYS, REDIS_URL, INVENTORY_REDIS_URL, RABBITMQ_URL, SERVICE_TOKEN]
payment:
  args: [worker]
  env: {WORKER_SERVICES: payment, HTTP_ADDR: "0.0.0.0:9100"}
  port: 9100
  ready: /readyz
  metrics: true
  temporal: true
  worker: true
  secrets: [CODEC_KEYS, REDIS_URL, PAYMENT_REDIS_URL, RABBITMQ_URL, SERVICE_TOKEN, PAYMENT_PROVIDER_SECRET_KEY]
projector:
  args: [projector]
  env: {HTTP_ADDR: "0.0.0.0:9100"}
  port: 9100
  ready: /readyz
  metrics: true
  secrets: [REDIS_URL, TIMELINE_REDIS_URL, RABBITMQ_URL]
api:
  args: [api]
  env: {API_ADDR: "0.0.0.0:8080"}
  port: 8080
  ready: /readyz
  metrics: true
  temporal: true
  secrets: [CODEC_KEYS, REDIS_URL, TIMELINE_REDIS_URL, SERVICE_TOKEN, API_KEYS, APPROVER_API_KEYS, ADMIN_API_KEYS]
paymentsim:
  args: [payment-provider]
  env: {PAYMENT_PROVIDER_ADDR: "0.0.0.0:8090"}
  port: 8090
  ready: /healthz
  secrets: [REDIS_URL, PAYMENT_PROVIDER_SECRET_KEY]
codecServer:
  args: [codec-server]
  env: {CODEC_ADDR: "0.0.0.0:8234"}
  port: 8234
  ready: ""
  secrets: [CODEC_KEYS, CODEC_AUTH_KEYS, CODEC_ENCODE_KEYS, ADMIN_API_KEYS]
{{- end -}}

{{/* The DNS-style name of a role's objects: orchestrator, ..., codec-server. */}}
{{- define "ordersaga.roleName" -}}
{{- . | kebabcase -}}
{{- end -}}

{{/*
ordersaga.generated: the secrets the chart generates when it makes the
Secret and they are not given, as a JSON list of names.
*/}}
{{- define "ordersaga.generated" -}}
{{- $v := .Values.secrets.values -}}
{{- $gen := list -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if not $v.SERVICE_TOKEN }}{{ $gen = append $gen "SERVICE_TOKEN" }}{{ end -}}
{{- if not $v.PAYMENT_PROVIDER_SECRET_KEY }}{{ $gen = append $gen "PAYMENT_PROVIDER_SECRET_KEY" }}{{ end -}}
{{- if and (not $v.API_KEYS) (not $v.APPROVER_API_KEYS) (not $v.ADMIN_API_KEYS) (not .Values.api.insecureNoAuth) }}{{ $gen = append $gen "ADMIN_API_KEYS" }}{{ end -}}
{{- end -}}
{{- toJson $gen -}}
{{- end -}}

{{/* ordersaga.secretKeys: the keys the Secret holds, as a JSON list. */}}
{{- define "ordersaga.secretKeys" -}}
{{- if .Values.secrets.existingSecret -}}
{{- toJson .Values.secrets.keys -}}
{{- else -}}
{{- $keys := include "ordersaga.generated" . | fromJsonArray -}}
{{- range $k, $v := .Values.secrets.values -}}
{{- if $v }}{{ $keys = append $keys $k }}{{ end -}}
{{- end -}}
{{- toJson (sortAlpha $keys) -}}
{{- end -}}
{{- end -}}

{{/*
ordersaga.temporalKey: the Secret key of a role's Temporal API key
(TEMPORAL_API_KEY_<ROLE>, else TEMPORAL_API_KEY), or "" for none.
(dict "ctx" $ "role" "orchestrator")
*/}}
{{- define "ordersaga.temporalKey" -}}
{{- $keys := include "ordersaga.secretKeys" .ctx | fromJsonArray -}}
{{- $own := printf "TEMPORAL_API_KEY_%s" (.role | snakecase | upper) -}}
{{- if has $own $keys -}}{{ $own }}{{- else if has "TEMPORAL_API_KEY" $keys -}}TEMPORAL_API_KEY{{- end -}}
{{- end -}}

{{/*
ordersaga.temporalEnv: the variables of Temporal's connection.
(dict "ctx" $ "profile" "name")
*/}}
{{- define "ordersaga.temporalEnv" -}}
{{- $t := .ctx.Values.temporal -}}
{{- with $t.address }}
- name: TEMPORAL_ADDRESS
  value: {{ . | quote }}
{{- end }}
{{- with $t.namespace }}
- name: TEMPORAL_NAMESPACE
  value: {{ . | quote }}
{{- end }}
{{- if $t.profile.existingSecret }}
- name: TEMPORAL_CONFIG_FILE
  value: {{ printf "%s/%s" $t.profile.mountPath $t.profile.file | quote }}
{{- with .profile }}
- name: TEMPORAL_PROFILE
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- if $t.tls.existingSecret }}
- name: TEMPORAL_TLS
  value: "true"
- name: TEMPORAL_TLS_CLIENT_CERT_PATH
  value: {{ printf "%s/tls.crt" $t.tls.mountPath | quote }}
- name: TEMPORAL_TLS_CLIENT_KEY_PATH
  value: {{ printf "%s/tls.key" $t.tls.mountPath | quote }}
{{- if $t.tls.serverCA }}
- name: TEMPORAL_TLS_SERVER_CA_CERT_PATH
  value: {{ printf "%s/ca.crt" $t.tls.mountPath | quote }}
{{- end }}
{{- with $t.tls.serverName }}
- name: TEMPORAL_TLS_SERVER_NAME
  value: {{ . | quote }}
{{- end }}
{{- end }}
{{- range $k, $v := $t.env }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{/* ordersaga.temporalVolumes: the volumes of the profile and TLS Secrets. */}}
{{- define "ordersaga.temporalVolumes" -}}
{{- $t := .Values.temporal -}}
{{- if $t.profile.existingSecret }}
- name: temporal-profile
  secret:
    secretName: {{ $t.profile.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- if $t.tls.existingSecret }}
- name: temporal-tls
  secret:
    secretName: {{ $t.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "ordersaga.temporalMounts" -}}
{{- $t := .Values.temporal -}}
{{- if $t.profile.existingSecret }}
- name: temporal-profile
  mountPath: {{ $t.profile.mountPath }}
  readOnly: true
{{- end }}
{{- if $t.tls.existingSecret }}
- name: temporal-tls
  mountPath: {{ $t.tls.mountPath }}
  readOnly: true
{{- end }}
{{- end -}}

{{/*
ordersaga.check: refuses values the roles would refuse at start, so a bad
release fails at `helm install`, not in a crash loop.
*/}}
{{- define "ordersaga.check" -}}
{{- $keys := include "ordersaga.secretKeys" . | fromJsonArray -}}
{{- $v := .Values -}}
{{- if le (int $v.defaults.terminationGracePeriodSeconds) (int $v.shutdownTimeoutSeconds) -}}
{{- fail (printf "defaults.terminationGracePeriodSeconds (%v) must be longer than shutdownTimeoutSeconds (%v): running activities get the shutdown timeout to finish" $v.defaults.terminationGracePeriodSeconds $v.shutdownTimeoutSeconds) -}}
{{- end -}}
{{- range $role := list "orchestrator" "order" "inventory" "payment" "projector" "api" "paymentsim" "codecServer" -}}
{{- $r := index $v $role -}}
{{- $grace := default $v.defaults.terminationGracePeriodSeconds $r.terminationGracePeriodSeconds -}}
{{- if and $r.enabled (le (int $grace) (int $v.shutdownTimeoutSeconds)) -}}
{{- fail (printf "%s.terminationGracePeriodSeconds (%v) must be longer than shutdownTimeoutSeconds (%v)" $role $grace $v.shutdownTimeoutSeconds) -}}
{{- end -}}
{{- end -}}
{{- $needs := list -}}
{{- if or $v.order.enabled $v.inventory.enabled $v.payment.enabled $v.projector.enabled $v.api.enabled $v.paymentsim.enabled }}{{ $needs = append $needs "REDIS_URL" }}{{ end -}}
{{- if or $v.order.enabled $v.inventory.enabled $v.payment.enabled $v.projector.enabled }}{{ $needs = append $needs "RABBITMQ_URL" }}{{ end -}}
{{- if or $v.order.enabled $v.inventory.enabled $v.payment.enabled }}{{ $needs = append $needs "SERVICE_TOKEN" }}{{ end -}}
{{- if or $v.payment.enabled $v.paymentsim.enabled }}{{ $needs = append $needs "PAYMENT_PROVIDER_SECRET_KEY" }}{{ end -}}
{{- if $v.codecServer.enabled }}{{ $needs = append $needs "CODEC_KEYS" }}{{ end -}}
{{- range $needs -}}
{{- if not (has . $keys) -}}
{{- fail (printf "secrets: %s is needed (give secrets.values.%s, or list it in secrets.keys of secrets.existingSecret)" . .) -}}
{{- end -}}
{{- end -}}
{{- if and $v.api.enabled (not $v.api.insecureNoAuth) (not (or (has "API_KEYS" $keys) (has "APPROVER_API_KEYS" $keys) (has "ADMIN_API_KEYS" $keys))) -}}
{{- fail "secrets: the API needs API_KEYS, APPROVER_API_KEYS or ADMIN_API_KEYS (or api.insecureNoAuth)" -}}
{{- end -}}
{{- if and $v.codecServer.enabled (not (or (has "CODEC_AUTH_KEYS" $keys) (has "ADMIN_API_KEYS" $keys))) -}}
{{- fail "secrets: the codec server needs CODEC_AUTH_KEYS or ADMIN_API_KEYS: a key that may call it" -}}
{{- end -}}
{{- if and $v.payment.enabled (not $v.payment.providerURL) (not $v.paymentsim.enabled) -}}
{{- fail "payment.providerURL: the payment provider's URL is needed (or paymentsim.enabled)" -}}
{{- end -}}
{{- end -}}
