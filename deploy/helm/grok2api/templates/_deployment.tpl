{{/*
One Deployment shape for every grok2api component: the same image, `grok2api run --target
<component>`, the same hardened pod, the same volumes. Called with a dict:
  root        the chart's root context ($)
  component   kebab-case name (gateway, token-pool, media-worker, admin, operator)
  values      the component's block of values (.Values.gateway, …)
  store       true: the process opens the durable store (needs the store URL, SQLite volume)
  cipher      true: the process reads encrypted settings or credentials (encryption key)
  media       true: the process reads or writes the media store
  http        true: serves HTTP on values.port (probes, /metrics)
  liveness    true: serves only a liveness endpoint, /healthz, on values.port (the operator)
  grpc        true: serves the token pool's gRPC on values.grpcPort
  redis       true: the process uses Redis (REDIS_URL)
  egresses    true: the process reads the declared egresses (egress.declared_file) from
              their Secret, when the values declare any
  autoscaled  true: an autoscaler owns the replica count
  env         extra component-specific env entries (a list)
*/}}
{{- define "grok2api.deployment" -}}
{{- $root := .root -}}
{{- $v := .values -}}
{{- $ctx := dict "root" $root "component" .component -}}
{{- $sqlite := and .store (eq $root.Values.store.type "sqlite") -}}
{{- $egressSecret := "" -}}
{{- if .egresses }}{{ $egressSecret = include "grok2api.egressSecretName" $root }}{{ end -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "grok2api.componentName" $ctx }}
  namespace: {{ $root.Release.Namespace }}
  labels:
    {{- include "grok2api.componentLabels" $ctx | nindent 4 }}
spec:
  {{- if not .autoscaled }}
  replicas: {{ $v.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  {{- if and $sqlite (eq .component "token-pool") }}
  # The SQLite volume is ReadWriteOnce: the old pool must let it go before the new one starts.
  strategy:
    type: Recreate
  {{- end }}
  selector:
    matchLabels:
      {{- include "grok2api.componentSelectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "grok2api.componentLabels" $ctx | nindent 8 }}
      annotations:
        checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
        {{- if not $root.Values.auth.existingSecret }}
        checksum/secret: {{ include (print $root.Template.BasePath "/secret.yaml") $root | sha256sum }}
        {{- end }}
        {{- if and $egressSecret (not $root.Values.egresses.existingSecret) }}
        # Egresses are read at start: a changed list restarts the pool.
        checksum/egresses: {{ toJson $root.Values.egresses.declared | sha256sum }}
        {{- end }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "grok2api.serviceAccountName" $ctx }}
      # Only the operator talks to the Kubernetes API; every other pod goes without a token.
      automountServiceAccountToken: {{ eq .component "operator" }}
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ .component }}
          image: {{ include "grok2api.image" $root | quote }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          # The image's ENTRYPOINT is `tini -- grok2api run --target`: the target comes first.
          args: [{{ .component | quote }}, "--config", "/etc/grok2api/config.toml"]
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          {{- if or .http .grpc .liveness }}
          ports:
            {{- if or .http .liveness }}
            - name: http
              containerPort: {{ $v.port }}
              protocol: TCP
            {{- end }}
            {{- if .grpc }}
            - name: grpc
              containerPort: {{ $v.grpcPort }}
              protocol: TCP
            {{- end }}
          {{- end }}
          env:
            - name: DATA_DIR
              value: /data
            # Logs go to stdout only: the root filesystem is read-only and pods are ephemeral.
            - name: LOG_FILE_ENABLED
              value: "false"
            - name: OTEL_SERVICE_NAME
              value: {{ printf "grok2api-%s" .component | quote }}
            {{- if or .http .liveness }}
            - name: SERVER_PORT
              value: {{ $v.port | quote }}
            {{- end }}
            {{- if .redis }}
            - name: REDIS_URL
              valueFrom:
                secretKeyRef:
                  name: {{ include "grok2api.redisSecretName" $root }}
                  key: {{ include "grok2api.redisSecretKey" $root }}
            {{- end }}
            - name: TOKEN_POOL_ADDR
              value: {{ include "grok2api.tokenPoolAddr" $root | quote }}
            {{- if .store }}
            - name: SERVER_STORAGE_TYPE
              value: {{ include "grok2api.storageType" $root | quote }}
            {{- if $sqlite }}
            - name: SERVER_STORAGE_URL
              value: sqlite+aiosqlite:////data/db/grok2api.db
            {{- else }}
            - name: SERVER_STORAGE_URL
              valueFrom:
                secretKeyRef:
                  name: {{ include "grok2api.storeSecretName" $root }}
                  key: {{ include "grok2api.storeSecretKey" $root }}
            {{- end }}
            {{- end }}
            {{- if .cipher }}
            - name: GROK2API_SECURITY__ENCRYPTION_KEY
              valueFrom:
                secretKeyRef:
                  name: {{ include "grok2api.authSecretName" $root }}
                  key: {{ $root.Values.auth.encryptionKeyKey }}
            {{- end }}
            {{- if $egressSecret }}
            - name: GROK2API_EGRESS__DECLARED_FILE
              value: {{ printf "/etc/grok2api-egresses/%s" (include "grok2api.egressSecretKey" $root) | quote }}
            {{- end }}
            {{- with .env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- with $root.Values.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- with $v.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- if .grpc }}
          startupProbe:
            grpc:
              port: {{ $v.grpcPort }}
            periodSeconds: 2
            failureThreshold: 60
          readinessProbe:
            grpc:
              port: {{ $v.grpcPort }}
            periodSeconds: 5
            failureThreshold: 2
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          {{- else if .http }}
          startupProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 2
            failureThreshold: 60
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          {{- else if .liveness }}
          # kopf answers while its loop runs, acting or paused behind a peer; there is no
          # Service to be ready for.
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            initialDelaySeconds: 10
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          {{- end }}
          {{- if and (or .http .grpc) (gt (int $root.Values.preStopSleepSeconds) 0) }}
          lifecycle:
            preStop:
              sleep:
                seconds: {{ $root.Values.preStopSleepSeconds }}
          {{- end }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            - name: config
              mountPath: /etc/grok2api
              readOnly: true
            - name: data
              mountPath: /data
            - name: tmp
              mountPath: /tmp
            {{- if .media }}
            - name: media
              mountPath: /data/media
            {{- end }}
            {{- if $sqlite }}
            - name: sqlite
              mountPath: /data/db
            {{- end }}
            {{- if $egressSecret }}
            - name: egresses
              mountPath: /etc/grok2api-egresses
              readOnly: true
            {{- end }}
      volumes:
        - name: config
          configMap:
            name: {{ include "grok2api.fullname" $root }}
        - name: data
          emptyDir:
            sizeLimit: 256Mi
        - name: tmp
          emptyDir:
            sizeLimit: 256Mi
        {{- if .media }}
        - name: media
          persistentVolumeClaim:
            claimName: {{ include "grok2api.mediaClaimName" $root }}
        {{- end }}
        {{- if $sqlite }}
        - name: sqlite
          persistentVolumeClaim:
            claimName: {{ include "grok2api.sqliteClaimName" $root }}
        {{- end }}
        {{- if $egressSecret }}
        # Proxy credentials: readable by the pod's group only.
        - name: egresses
          secret:
            secretName: {{ $egressSecret }}
            defaultMode: 0440
            items:
              - key: {{ include "grok2api.egressSecretKey" $root }}
                path: {{ include "grok2api.egressSecretKey" $root }}
        {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- $affinity := deepCopy ($v.affinity | default dict) }}
      {{- if and $sqlite (ne .component "token-pool") }}
      {{- /* SQLite over a ReadWriteOnce volume: every process opening it runs on the token pool's node. */}}
      {{- $term := dict "topologyKey" "kubernetes.io/hostname" "labelSelector" (dict "matchLabels" (include "grok2api.componentSelectorLabels" (dict "root" $root "component" "token-pool") | fromYaml)) }}
      {{- $affinity = mustMergeOverwrite $affinity (dict "podAffinity" (dict "requiredDuringSchedulingIgnoredDuringExecution" (list $term))) }}
      {{- end }}
      {{- with $affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if $root.Values.topologySpread.enabled }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: {{ $root.Values.topologySpread.topologyKey }}
          whenUnsatisfiable: {{ $root.Values.topologySpread.whenUnsatisfiable }}
          labelSelector:
            matchLabels:
              {{- include "grok2api.componentSelectorLabels" $ctx | nindent 14 }}
          matchLabelKeys: [pod-template-hash]
      {{- end }}
{{- end }}
