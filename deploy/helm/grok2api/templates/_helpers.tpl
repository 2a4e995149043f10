{{/*
Names and labels. One name runs through every layer: component `tokenPool` (values) ->
label `app.kubernetes.io/component: token-pool` -> Service `<fullname>-token-pool` ->
TOKEN_POOL_ADDR.
*/}}

{{- define "grok2api.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* `<release>-<chart>` (the release name alone when it already contains the chart name), at most 63 characters. */}}
{{- define "grok2api.fullname" -}}
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

{{- define "grok2api.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: stable across upgrades, so no chart version here. */}}
{{- define "grok2api.selectorLabels" -}}
app.kubernetes.io/name: {{ include "grok2api.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "grok2api.labels" -}}
helm.sh/chart: {{ include "grok2api.chart" . }}
{{ include "grok2api.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: grok2api
{{- end }}

{{/*
Per-component helpers take a dict: (dict "root" $ "component" "token-pool").
Object names are `<fullname>-<component>`, trimmed so the whole stays within 63 characters.
*/}}
{{- define "grok2api.componentName" -}}
{{- printf "%s-%s" (include "grok2api.fullname" .root | trunc (int (sub 62 (len .component))) | trimSuffix "-") .component }}
{{- end }}

{{- define "grok2api.componentSelectorLabels" -}}
{{ include "grok2api.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "grok2api.componentLabels" -}}
{{ include "grok2api.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "grok2api.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/* The Secret holding the admin password, encryption key and API key. */}}
{{- define "grok2api.authSecretName" -}}
{{- if .Values.auth.existingSecret }}
{{- .Values.auth.existingSecret }}
{{- else }}
{{- include "grok2api.fullname" . }}
{{- end }}
{{- end }}

{{/* The Secret holding the database URL (postgresql / mysql). */}}
{{- define "grok2api.storeSecretName" -}}
{{- if .Values.store.existingSecret }}
{{- .Values.store.existingSecret }}
{{- else }}
{{- include "grok2api.fullname" . }}
{{- end }}
{{- end }}

{{- define "grok2api.storeSecretKey" -}}
{{- if .Values.store.existingSecret }}{{ .Values.store.existingSecretKey }}{{ else }}storage-url{{ end }}
{{- end }}

{{/* The Secret holding REDIS_URL: an existing one, else the chart's. */}}
{{- define "grok2api.redisSecretName" -}}
{{- if and (not .Values.redis.bundled) .Values.redis.existingSecret }}
{{- .Values.redis.existingSecret }}
{{- else }}
{{- include "grok2api.fullname" . }}
{{- end }}
{{- end }}

{{- define "grok2api.redisSecretKey" -}}
{{- if and (not .Values.redis.bundled) .Values.redis.existingSecret }}{{ .Values.redis.existingSecretKey }}{{ else }}redis-url{{ end }}
{{- end }}

{{/* The Secret holding the declared egresses (egress.declared_file): an existing one, else
the chart's; "" when there are none. */}}
{{- define "grok2api.egressSecretName" -}}
{{- if .Values.egresses.existingSecret }}
{{- .Values.egresses.existingSecret }}
{{- else if .Values.egresses.declared }}
{{- include "grok2api.componentName" (dict "root" . "component" "egresses") }}
{{- end }}
{{- end }}

{{- define "grok2api.egressSecretKey" -}}
{{- if .Values.egresses.existingSecret }}{{ .Values.egresses.existingSecretKey }}{{ else }}egresses.yaml{{ end }}
{{- end }}

{{/* What SERVER_STORAGE_TYPE names for store.type. */}}
{{- define "grok2api.storageType" -}}
{{- get (dict "sqlite" "local" "postgresql" "pgsql" "mysql" "mysql") .Values.store.type }}
{{- end }}

{{- define "grok2api.sqliteClaimName" -}}
{{- default (include "grok2api.componentName" (dict "root" . "component" "sqlite")) .Values.store.sqlite.existingClaim }}
{{- end }}

{{- define "grok2api.mediaClaimName" -}}
{{- default (include "grok2api.componentName" (dict "root" . "component" "media")) .Values.media.persistence.existingClaim }}
{{- end }}

{{/*
TOKEN_POOL_ADDR: the headless Service's fully qualified name through gRPC's dns resolver, so
a client sees every ready pool replica's address (client-side load balancing), not one
virtual IP.
*/}}
{{- define "grok2api.tokenPoolAddr" -}}
{{- printf "dns:///%s.%s.svc.%s:%d" (include "grok2api.componentName" (dict "root" . "component" "token-pool")) .Release.Namespace .Values.clusterDomain (int .Values.tokenPool.grpcPort) }}
{{- end }}

{{- define "grok2api.serviceAccountName" -}}
{{- include "grok2api.componentName" . }}
{{- end }}

{{/* The operator's ClusterKopfPeering (cluster-scoped): one per release and namespace. */}}
{{- define "grok2api.operatorPeering" -}}
{{- printf "%s-%s" (include "grok2api.fullname" .) .Release.Namespace | trunc 63 | trimSuffix "-" }}
{{- end }}
