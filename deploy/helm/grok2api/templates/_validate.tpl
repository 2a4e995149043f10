{{/*
Refuse values that render but cannot work, each with what to change. (Shapes and formats
are values.schema.json's job; these are the rules that span several values.)
*/}}
{{- define "grok2api.validate" -}}
{{- $v := .Values -}}
{{- if not $v.auth.existingSecret }}
{{- if not $v.auth.encryptionKey }}
{{- fail "auth.encryptionKey is required (there is no default key): set it to a Fernet key (python3 -c \"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\") or name a Secret holding it in auth.existingSecret" }}
{{- end }}
{{- if not $v.auth.adminPassword }}
{{- fail "auth.adminPassword is required: set it, or name a Secret holding it in auth.existingSecret" }}
{{- end }}
{{- if eq $v.auth.adminPassword "grok2api" }}
{{- fail "auth.adminPassword is the published default 'grok2api': choose your own" }}
{{- end }}
{{- end }}
{{- $owned := dict "app.app_key" "auth.adminPassword" "app.api_key" "auth.apiKey" "security.encryption_key" "auth.encryptionKey" "security.cf_clearance" "the admin panel (stored encrypted)" "telemetry.metrics_urls" "nothing: the chart sets it" "egress.declared_file" "egresses.declared or egresses.existingSecret (the chart mounts the file)" }}
{{- range $dotted, $instead := $owned }}
{{- $section := index (splitList "." $dotted) 0 }}
{{- $key := index (splitList "." $dotted) 1 }}
{{- if hasKey (index $v.config $section | default dict) $key }}
{{- fail (printf "config.%s is not set through config (a ConfigMap is no place for it): use %s" $dotted $instead) }}
{{- end }}
{{- end }}
{{- if eq $v.store.type "sqlite" }}
{{- if ne (int $v.tokenPool.replicas) 1 }}
{{- fail (printf "store.type sqlite allows one token-pool replica, not %d: SQLite is one file on a ReadWriteOnce volume; use store.type postgresql or mysql to run several" (int $v.tokenPool.replicas)) }}
{{- end }}
{{- else if not (or $v.store.url $v.store.existingSecret) }}
{{- fail (printf "store.type %s needs a database: set store.url or store.existingSecret" $v.store.type) }}
{{- end }}
{{- if and (not $v.redis.bundled) (not (or $v.redis.url $v.redis.existingSecret)) }}
{{- fail "the split services keep their shared state (leases, limits, the job queue) in Redis and cannot run with in-process state: set redis.bundled true, or redis.url / redis.existingSecret" }}
{{- end }}
{{- if not (has "ReadWriteMany" $v.media.persistence.accessModes) }}
{{- fail "media.persistence.accessModes must include ReadWriteMany: gateways, media workers and the admin panel on different nodes share the media volume; use a storage class that offers it (NFS, CephFS, EFS, Azure Files) or media.persistence.existingClaim" }}
{{- end }}
{{- if and $v.httpRoute.enabled (not $v.httpRoute.parentRefs) }}
{{- fail "httpRoute.enabled needs httpRoute.parentRefs: the Gateway(s) the route attaches to" }}
{{- end }}
{{- if and $v.ingress.enabled $v.ingress.adminHost (not $v.admin.enabled) }}
{{- fail "ingress.adminHost is set but admin.enabled is false: enable the admin panel or clear ingress.adminHost" }}
{{- end }}
{{- if and $v.gateway.autoscaling.enabled (lt (int $v.gateway.autoscaling.maxReplicas) (int $v.gateway.autoscaling.minReplicas)) }}
{{- fail "gateway.autoscaling.maxReplicas must be at least gateway.autoscaling.minReplicas" }}
{{- end }}
{{- if and $v.mediaWorker.autoscaling.enabled (lt (int $v.mediaWorker.autoscaling.maxReplicas) (int $v.mediaWorker.autoscaling.minReplicas)) }}
{{- fail "mediaWorker.autoscaling.maxReplicas must be at least mediaWorker.autoscaling.minReplicas" }}
{{- end }}
{{- end }}
