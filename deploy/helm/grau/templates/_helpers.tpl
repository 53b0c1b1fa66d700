{{/* The release's resource name: <release>-grau, or <release> if it already says grau. */}}
{{- define "grau.fullname" -}}
{{- if contains "grau" .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-grau" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "grau.selectorLabels" -}}
app.kubernetes.io/name: grau
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "grau.labels" -}}
{{ include "grau.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "grau.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* The Secret with SECRET_KEY and DATABASE_URL: the user's, or the chart's (values required). */}}
{{- define "grau.secretName" -}}
{{- if .Values.secret.existingSecret -}}
{{- .Values.secret.existingSecret -}}
{{- else -}}
{{- include "grau.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* What the pods run with: the ConfigMap and the Secret. */}}
{{- define "grau.envFrom" -}}
- configMapRef:
    name: {{ include "grau.fullname" . }}
- secretRef:
    name: {{ include "grau.secretName" . }}
{{- end -}}

{{/* What the migration Job runs with: the hook copies (an existing Secret as it is). */}}
{{- define "grau.migrateEnvFrom" -}}
- configMapRef:
    name: {{ include "grau.fullname" . }}-migrate
- secretRef:
    name: {{ if .Values.secret.existingSecret }}{{ .Values.secret.existingSecret }}{{ else }}{{ include "grau.fullname" . }}-migrate{{ end }}
{{- end -}}

{{/* Non-root, no privilege escalation, no capabilities, read-only root file system. */}}
{{- define "grau.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
