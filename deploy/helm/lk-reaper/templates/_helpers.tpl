{{/* The release's objects are named <release>-lk-reaper (or fullnameOverride). */}}
{{- define "lk-reaper.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lk-reaper.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "lk-reaper.labels" -}}
{{ include "lk-reaper.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "lk-reaper.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "lk-reaper.secretName" -}}
{{- .Values.livekit.existingSecret | default (include "lk-reaper.fullname" .) -}}
{{- end -}}

{{/* Non-root (the image's user 65532), which may read the secret through fsGroup. */}}
{{- define "lk-reaper.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{- define "lk-reaper.containerSecurityContext" -}}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities: {drop: [ALL]}
{{- end -}}

{{/* The connection, the secret as a file, the policy file. */}}
{{- define "lk-reaper.env" -}}
- name: LIVEKIT_URL
  value: {{ required "livekit.url is required (e.g. ws://livekit-server.livekit.svc:7880)" .Values.livekit.url | quote }}
- name: LIVEKIT_API_KEY
  value: {{ required "livekit.apiKey is required" .Values.livekit.apiKey | quote }}
- name: LIVEKIT_API_SECRET_FILE
  value: /var/run/secrets/livekit/secret
{{- if .Values.policy }}
- name: LK_REAPER_CONFIG
  value: /etc/lk-reaper/policy.toml
{{- end }}
{{- end -}}

{{- define "lk-reaper.volumeMounts" -}}
- name: livekit
  mountPath: /var/run/secrets/livekit
  readOnly: true
{{- if .Values.policy }}
- name: policy
  mountPath: /etc/lk-reaper
  readOnly: true
{{- end }}
{{- end -}}

{{/* 0440 with fsGroup 65532: the secret's group is the pod's, so user 65532 reads it. */}}
{{- define "lk-reaper.volumes" -}}
- name: livekit
  secret:
    secretName: {{ include "lk-reaper.secretName" . }}
    defaultMode: 0440
    items:
      - key: {{ if .Values.livekit.existingSecret }}{{ .Values.livekit.existingSecretKey }}{{ else }}secret{{ end }}
        path: secret
{{- if .Values.policy }}
- name: policy
  configMap:
    name: {{ include "lk-reaper.fullname" . }}
{{- end }}
{{- end -}}

{{- define "lk-reaper.scheduling" -}}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
