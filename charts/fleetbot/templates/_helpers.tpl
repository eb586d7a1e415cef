{{/* The chart's name, or nameOverride. */}}
{{- define "fleetbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The name of every object: fullnameOverride, or the release's name with the chart's when it lacks it. */}}
{{- define "fleetbot.fullname" -}}
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

{{- define "fleetbot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "fleetbot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "fleetbot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "fleetbot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "fleetbot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "fleetbot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding the App's key, the webhook secret and the API token. */}}
{{- define "fleetbot.secretName" -}}
{{- default (include "fleetbot.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{- define "fleetbot.image" -}}
{{- $ref := printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- if .Values.image.digest }}
{{- $ref = printf "%s@%s" $ref .Values.image.digest }}
{{- end }}
{{- $ref }}
{{- end }}

{{/* "true" when state is in DynamoDB (several replicas, a Deployment), empty for the bbolt file (one replica, a StatefulSet). */}}
{{- define "fleetbot.dynamodb" -}}
{{- if .Values.config.store.dynamodb }}true{{ end }}
{{- end }}

{{/*
Where the pod keeps what serve's configuration points at. The configuration
and the Secret's files share one read-only directory; the file paths in the
configuration are relative to it.
*/}}
{{- define "fleetbot.configDir" -}}/etc/fleetbot{{- end }}
{{- define "fleetbot.stateDir" -}}/var/lib/fleetbot{{- end }}
{{- define "fleetbot.mirrorDir" -}}/var/cache/fleetbot{{- end }}
{{- define "fleetbot.containerPort" -}}8080{{- end }}
{{- define "fleetbot.metricsPort" -}}9090{{- end }}

{{/* serve's configuration file: config from the values, with the places in the pod set by the chart. */}}
{{- define "fleetbot.config" -}}
{{- $c := deepCopy .Values.config }}
{{- $_ := set $c "privateKeyFile" "private-key.pem" }}
{{- $_ = set $c "webhookSecretFile" "webhook-secret" }}
{{- $_ = set $c "listen" (printf ":%s" (include "fleetbot.containerPort" .)) }}
{{- $_ = set $c "mirrorDir" (include "fleetbot.mirrorDir" .) }}
{{- if .Values.metrics.separatePort }}
{{- $_ = set $c "metricsListen" (printf ":%s" (include "fleetbot.metricsPort" .)) }}
{{- end }}
{{- if include "fleetbot.dynamodb" . }}
{{- $_ = set $c "store" (dict "dynamodb" .Values.config.store.dynamodb) }}
{{- else }}
{{- $_ = set $c "store" (dict "bolt" (dict "path" (printf "%s/state.db" (include "fleetbot.stateDir" .)))) }}
{{- end }}
{{- if .Values.operationsAPI.enabled }}
{{- $_ = set $c "api" (dict "tokenFile" "api-token") }}
{{- end -}}
# fleetbot serve's configuration (docs/serve.md), written by the Helm chart
# from its values. The files it names are read from this file's directory.
{{ toYaml $c }}
{{- end }}
