{{/*
Names are fixed, as in config/: the ValidatingWebhookConfiguration
"imagegate" is cluster-scoped and the webhook's --webhook-configuration and
--cert-secret flags name these objects, so one release per cluster.
*/}}

{{- define "imagegate.chart" -}}
{{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object; "component" is controller, webhook or empty. */}}
{{- define "imagegate.labels" -}}
{{- $root := index . 0 }}{{ $component := index . 1 -}}
helm.sh/chart: {{ include "imagegate.chart" $root }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
{{ include "imagegate.selectorLabels" (list $root $component) }}
{{- end }}

{{/* Selector labels: the same as config/'s, so both installs select alike. */}}
{{- define "imagegate.selectorLabels" -}}
{{- $component := index . 1 -}}
app.kubernetes.io/name: imagegate
{{- if $component }}
app.kubernetes.io/component: {{ $component }}
{{- end }}
{{- end }}

{{- define "imagegate.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- if .Values.image.digest }}{{ $ref = printf "%s@%s" $ref .Values.image.digest }}{{ end -}}
{{ $ref }}
{{- end }}

{{/* Service account user names, as the API server reports them. */}}
{{- define "imagegate.user" -}}
{{- $root := index . 0 -}}
system:serviceaccount:{{ $root.Release.Namespace }}:{{ index . 1 }}
{{- end }}

{{/*
Namespaces the webhook never sees: the configured ones and always the
release namespace, so that the webhook's own Pods can start while it is
down. One list for --exempt-namespaces and the namespaceSelector.
*/}}
{{- define "imagegate.exemptNamespaces" -}}
{{- $ns := .Values.webhook.exemptNamespaces | default list -}}
{{- if not (has .Release.Namespace $ns) }}{{ $ns = append $ns .Release.Namespace }}{{ end -}}
{{ toJson $ns }}
{{- end }}

{{/* Flags both roles share (cmd/imagegate/manager.go). */}}
{{- define "imagegate.commonArgs" -}}
- --metrics-bind-address=:8080
- --health-probe-bind-address=:8081
- --log-format={{ .Values.logFormat }}
- --log-level={{ .Values.logLevel }}
- --verified-ttl={{ .Values.verifiedTTL }}
{{- if .Values.registry.allowInsecure }}
- --allow-insecure-registry
{{- end }}
{{- range .Values.registry.pullSecrets }}
- {{ printf "--pull-secret=%s" (ternary . (printf "%s/%s" $.Release.Namespace .) (contains "/" .)) | quote }}
{{- end }}
- {{ printf "--tuf-mirror=%s" .Values.sigstoreTUF.mirror | quote }}
{{- if ne .Values.sigstoreTUF.mirror "off" }}
- --tuf-refresh-interval={{ .Values.sigstoreTUF.refreshInterval }}
- {{ printf "--tuf-secret=%s" .Values.sigstoreTUF.secretName | quote }}
{{- end }}
{{- end }}

{{/* Pod-level settings both Deployments share; restricted Pod Security. */}}
{{- define "imagegate.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "imagegate.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* Probes on the port every role serves them on. */}}
{{- define "imagegate.ports" -}}
- name: metrics
  containerPort: 8080
  protocol: TCP
- name: probes
  containerPort: 8081
  protocol: TCP
{{- end }}

{{- define "imagegate.env" -}}
# The binary's namespace-dependent defaults derive from it.
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
{{- end }}

{{/* Placement and pull secrets of one role's Pods. */}}
{{- define "imagegate.podPlacement" -}}
{{- $root := index . 0 }}{{ $role := index . 1 -}}
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $role.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $role.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $role.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/* Where the API server calls the webhook. */}}
{{- define "imagegate.webhookClient" -}}
clientConfig:
  service:
    namespace: {{ .Release.Namespace }}
    name: imagegate-webhook
    path: /validate
    port: 443
{{- end }}
