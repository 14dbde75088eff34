{{/*
NEXT PHASE / PRODUCTION-ONLY chart. Helpers shared by the per-app templates; each takes
a context made by "market-data.app": (dict "root" $ "name" "<app>" "app" <values block>).
*/}}

{{- define "market-data.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* <release>-<app>, e.g. md-orchestrator-api. */}}
{{- define "market-data.fullname" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The orchestrator-api's internal Service (INTERNAL_PORT, /internal/*): always ClusterIP. */}}
{{- define "market-data.internalServiceName" -}}
{{- printf "%s-internal" (include "market-data.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end }}

{{- define "market-data.selectorLabels" -}}
app.kubernetes.io/name: {{ include "market-data.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "market-data.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
{{ include "market-data.selectorLabels" . }}
app.kubernetes.io/version: {{ .app.image.tag | default (.root.Values.image | default dict).tag | default .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: market-data
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
{{- end -}}

{{/* [<image.prefix>/]<repository>:<app tag | image.tag | appVersion> */}}
{{- define "market-data.image" -}}
{{- $global := .root.Values.image | default dict -}}
{{- $tag := .app.image.tag | default $global.tag | default .root.Chart.AppVersion -}}
{{- $prefix := $global.prefix | default "" | trimSuffix "/" -}}
{{- printf "%s%s:%s" (ternary "" (printf "%s/" $prefix) (eq $prefix "")) .app.image.repository $tag -}}
{{- end -}}

{{/* Shared env overlaid with the app's own, as container env entries. */}}
{{- define "market-data.env" -}}
{{- $env := merge (deepCopy (.app.env | default dict)) (.root.Values.env | default dict) -}}
{{- range $key := keys $env | sortAlpha }}
- name: {{ $key }}
  value: {{ get $env $key | toString | quote }}
{{- end }}
{{- end -}}

{{/*
Secrets (INGEST_USERNAME, INGEST_PASSWORD, API_KEY, PG_URL, REDIS_URL, INTERNAL_TOKEN; optionally
ADMIN_USERNAME and ADMIN_PASSWORD for the api's queue admin UI) from the existing Secret, whole.
Used by orchestrator-api and consumers; the feeder, realtime-gateway and the dashboard take only
the keys they need (secretKeyRef).
*/}}
{{- define "market-data.envFrom" -}}
- secretRef:
    name: {{ required "existingSecret is required: a Secret holding INGEST_USERNAME, INGEST_PASSWORD, API_KEY, PG_URL, REDIS_URL, INTERNAL_TOKEN" .root.Values.existingSecret }}
{{- end -}}
