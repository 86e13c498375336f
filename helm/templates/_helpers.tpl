{{/* Names and labels. */}}
{{- define "gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "gateway.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object (pod templates add their selector labels to these). */}}
{{- define "gateway.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: llm-gateway
{{- end }}

{{- define "gateway.labels" -}}
{{ include "gateway.commonLabels" . }}
app.kubernetes.io/name: {{ include "gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Selector labels of one component: gateway, redis, trtllm. */}}
{{- define "gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gateway.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "gateway.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "gateway.secretName" -}}
{{- default (printf "%s-keys" (include "gateway.fullname" .)) .Values.secrets.name }}
{{- end }}

{{- define "gateway.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{- define "gateway.redisName" -}}
{{- printf "%s-redis" (include "gateway.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Name of TensorRT-LLM engine instance .index. */}}
{{- define "gateway.trtllmName" -}}
{{- printf "%s-trtllm-%d" (include "gateway.fullname" .root) (int .index) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Whether the gateway has shared state (several replicas are safe). */}}
{{- define "gateway.sharedState" -}}
{{- if or .Values.redis.enabled .Values.externalRedis.url }}true{{ end }}
{{- end }}

{{/* Graceful termination: drain the longest stream, after the preStop pause. */}}
{{- define "gateway.terminationGrace" -}}
{{- add .Values.shutdown.longestStreamSeconds .Values.shutdown.preStopSeconds 15 }}
{{- end }}

{{/*
The gateway's config.yaml: the user's `config` with the sections the chart owns filled
in. Fails rendering on combinations that would run but misbehave.
*/}}
{{- define "gateway.config" -}}
{{- $cfg := fromYaml (default "{}" .Values.config) }}
{{- if hasKey $cfg "Error" }}
{{- fail (printf "config is not valid YAML: %s" (get $cfg "Error")) }}
{{- end }}
{{- $server := merge (dict "host" "0.0.0.0" "port" 8080 "workers" (int .Values.workers) "shutdown_grace_s" .Values.shutdown.longestStreamSeconds) (default dict (get $cfg "server")) }}
{{- $_ := set $server "host" "0.0.0.0" }}
{{- $_ := set $server "port" 8080 }}
{{- $_ := set $server "workers" (int .Values.workers) }}
{{- $_ := set $server "shutdown_grace_s" .Values.shutdown.longestStreamSeconds }}
{{- $_ := set $cfg "server" $server }}
{{- $_ := set $cfg "admin" (merge (dict "master_key" "${GATEWAY_MASTER_KEY}") (default dict (get $cfg "admin"))) }}
{{- if hasKey .Values.secrets.env "GATEWAY_METRICS_TOKEN" }}
{{- $telemetry := default dict (get $cfg "telemetry") }}
{{- $metrics := default dict (get $telemetry "metrics") }}
{{- if not (get $metrics "token") }}
{{- $_ := set $metrics "token" "${GATEWAY_METRICS_TOKEN}" }}
{{- $_ := set $telemetry "metrics" $metrics }}
{{- $_ := set $cfg "telemetry" $telemetry }}
{{- end }}
{{- end }}
{{- if hasKey .Values.secrets.env "GATEWAY_LABEL_SIGNING_KEY" }}
{{- $labeling := default dict (get $cfg "labeling") }}
{{- if not (get $labeling "signing_key") }}
{{- $_ := set $labeling "signing_key" "${GATEWAY_LABEL_SIGNING_KEY:-}" }}
{{- $_ := set $cfg "labeling" $labeling }}
{{- end }}
{{- end }}
{{- if .Values.redis.enabled }}
{{- $auth := ternary ":${REDIS_PASSWORD}@" "" .Values.redis.auth.enabled }}
{{- $url := printf "redis://%s%s:6379/0" $auth (include "gateway.redisName" .) }}
{{- $_ := set $cfg "state" (merge (dict "url" $url) (default dict (get $cfg "state"))) }}
{{- $_ := set $cfg.state "url" $url }}
{{- else if .Values.externalRedis.url }}
{{- $_ := set $cfg "state" (merge (dict "url" .Values.externalRedis.url) (default dict (get $cfg "state"))) }}
{{- $_ := set $cfg.state "url" .Values.externalRedis.url }}
{{- end }}
{{- if .Values.localEngine.enabled }}
{{- $le := .Values.localEngine }}
{{- $engine := dict "kind" "llama-cpp" "model" $le.model "port" 8181 "threads" (int $le.threads) "context_size" (int $le.contextSize) "served_name" $le.servedName }}
{{- $provider := dict "kind" "openai-compatible" "base_url" "http://127.0.0.1:8181/v1" "timeouts" (dict "connect" 2 "first_byte" 120 "total" 600) "health" (dict "path" "/models" "interval_s" 5) "engine" $engine }}
{{- $_ := set $cfg "providers" (merge (dict "local" $provider) (default dict (get $cfg "providers"))) }}
{{- $model := dict "targets" (list (dict "provider" "local" "model" $le.servedName)) "owned_by" "gateway" "endpoints" (list "chat/completions" "completions") }}
{{- $_ := set $cfg "models" (merge (dict $le.modelName $model) (default dict (get $cfg "models"))) }}
{{- end }}
{{- if .Values.trtllm.enabled }}
{{- $providers := default dict (get $cfg "providers") }}
{{- $targets := list }}
{{- range $i := until (int .Values.trtllm.instances) }}
{{- $name := printf "trtllm-%d" $i }}
{{- $host := include "gateway.trtllmName" (dict "root" $ "index" $i) }}
{{- $metrics := dict "source" "prometheus" }}
{{- $_ := set $providers $name (dict "kind" "trtllm" "base_url" (printf "http://%s:%d/v1" $host (int $.Values.trtllm.port)) "metrics" $metrics) }}
{{- $targets = append $targets (dict "provider" $name "model" $.Values.trtllm.servedModelName) }}
{{- end }}
{{- $_ := set $cfg "providers" $providers }}
{{- if .Values.trtllm.modelName }}
{{- $models := default dict (get $cfg "models") }}
{{- $extra := deepCopy .Values.trtllm.modelConfig }}
{{- $model := merge (dict "targets" (concat $targets (default list (get $extra "targets")))) (omit $extra "targets") }}
{{- $_ := set $model "routing" (merge (default dict (get $model "routing")) (dict "strategy" "engine-aware")) }}
{{- $_ := set $models .Values.trtllm.modelName $model }}
{{- $_ := set $cfg "models" $models }}
{{- end }}
{{- end }}
{{- range $name, $provider := (default dict (get $cfg "providers")) }}
{{- $total := 600 }}
{{- if and (kindIs "map" $provider) (hasKey $provider "timeouts") }}
{{- $total = default 600 (get (default dict $provider.timeouts) "total") }}
{{- end }}
{{- if gt (float64 $total) (float64 $.Values.shutdown.longestStreamSeconds) }}
{{- fail (printf "providers.%s allows streams of %vs (timeouts.total) but shutdown.longestStreamSeconds is %v: raise it, or lower the timeout" $name $total $.Values.shutdown.longestStreamSeconds) }}
{{- end }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/* Refuse values that would run but lose state or never schedule. */}}
{{- define "gateway.checks" -}}
{{- if and (not (include "gateway.sharedState" .)) (or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled) }}
{{- fail "more than one gateway replica needs shared state: set redis.enabled=true or externalRedis.url (keys, limits and spend would diverge between pods)" }}
{{- end }}
{{- if and .Values.persistence.enabled (or (gt (int .Values.replicaCount) 1) .Values.autoscaling.enabled) }}
{{- fail "persistence (a ReadWriteOnce volume for embedded state) allows one replica only; use Redis for more" }}
{{- end }}
{{- if and .Values.podDisruptionBudget.enabled (not .Values.autoscaling.enabled) (lt (int .Values.replicaCount) 2) }}
{{- fail "a PodDisruptionBudget with one replica would block node drains: raise replicaCount or enable autoscaling" }}
{{- end }}
{{- end }}

{{/* Policy files as a map: path under policies/ -> content; values.policies win. */}}
{{- define "gateway.policyFiles" -}}
{{- $files := dict }}
{{- range $path, $_ := .Files.Glob "policies/**" }}
{{- $_ := set $files (trimPrefix "policies/" $path) ($.Files.Get $path) }}
{{- end }}
{{- range $name, $content := .Values.policies }}
{{- $_ := set $files $name $content }}
{{- end }}
{{- toJson $files }}
{{- end }}

{{/* ConfigMap key of a policy file: ConfigMap keys cannot hold "/". */}}
{{- define "gateway.policyKey" -}}
{{- printf "policies__%s" (. | replace "/" "__") }}
{{- end }}
