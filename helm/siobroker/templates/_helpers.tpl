{{/* Chart name, truncated to the 63 characters of a DNS label. */}}
{{- define "siobroker.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: release-chart unless the release name already contains it. */}}
{{- define "siobroker.fullname" -}}
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

{{- define "siobroker.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object, without app.kubernetes.io/component (each object adds its own). */}}
{{- define "siobroker.commonLabels" -}}
helm.sh/chart: {{ include "siobroker.chart" . }}
app.kubernetes.io/name: {{ include "siobroker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The siobroker nodes: labels and selector labels. */}}
{{- define "siobroker.labels" -}}
{{ include "siobroker.commonLabels" . }}
app.kubernetes.io/component: broker
{{- end }}

{{- define "siobroker.selectorLabels" -}}
app.kubernetes.io/name: {{ include "siobroker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: broker
{{- end }}

{{/* The bundled Redis: name, labels and selector labels. */}}
{{- define "siobroker.redisName" -}}
{{- printf "%s-redis" (include "siobroker.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "siobroker.redisLabels" -}}
{{ include "siobroker.commonLabels" . }}
app.kubernetes.io/component: redis
{{- end }}

{{- define "siobroker.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "siobroker.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end }}

{{/* Name of the Secret holding the cluster secret (the chart's own or an existing one). */}}
{{- define "siobroker.secretName" -}}
{{- if .Values.clusterSecret.existingSecret }}
{{- .Values.clusterSecret.existingSecret }}
{{- else }}
{{- include "siobroker.fullname" . }}
{{- end }}
{{- end }}

{{- define "siobroker.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
The Redis URL given as a plain value ("" when it comes from an existing Secret). Fails when a
cluster of several nodes would have no Redis: without it each node is alone, and a non-sticky
balancer would send a session's requests to nodes that do not know it.
*/}}
{{- define "siobroker.redisUrl" -}}
{{- if .Values.redis.bundled.enabled }}
{{- printf "redis://%s:6379" (include "siobroker.redisName" .) }}
{{- else if .Values.redis.existingSecret }}
{{- else if .Values.redis.url }}
{{- .Values.redis.url }}
{{- else if gt (int .Values.replicaCount) 1 }}
{{- fail "replicaCount > 1 needs Redis: set redis.url, redis.existingSecret or redis.bundled.enabled=true" }}
{{- end }}
{{- end }}

{{/* The Secret holding the admin UI's password hash (admin.passwordHash). */}}
{{- define "siobroker.adminSecretName" -}}
{{- printf "%s-admin" (include "siobroker.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
