{{/*
A component's Service: dict root, component, type, headless, ports (list of
{name, port}; each targets the container port of the same name).
*/}}
{{- define "grok2api.service" -}}
{{- $ctx := dict "root" .root "component" .component -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "grok2api.componentName" $ctx }}
  namespace: {{ .root.Release.Namespace }}
  labels:
    {{- include "grok2api.componentLabels" $ctx | nindent 4 }}
spec:
  {{- if .headless }}
  clusterIP: None
  {{- else }}
  type: {{ .type | default "ClusterIP" }}
  {{- end }}
  selector:
    {{- include "grok2api.componentSelectorLabels" $ctx | nindent 4 }}
  ports:
    {{- range .ports }}
    - name: {{ .name }}
      port: {{ .port }}
      targetPort: {{ .name }}
      protocol: TCP
      {{- if eq .name "grpc" }}
      appProtocol: grpc
      {{- end }}
    {{- end }}
{{- end }}
