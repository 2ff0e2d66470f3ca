{{/*
Names, labels and the settings several templates derive from the values.
*/}}

{{/* The chart's name, nameOverride wins. */}}
{{- define "berth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The release's objects' base name: <release>-berth unless the release
name already holds the chart's name; fullnameOverride wins. Kept to 50
characters so that suffixes (-metrics, -admin, -config) stay within 63. */}}
{{- define "berth.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "berth.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "berth.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the registry's pods. */}}
{{- define "berth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "berth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "berth.labels" -}}
helm.sh/chart: {{ include "berth.chart" . }}
{{ include "berth.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "berth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "berth.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "berth.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The Secret and key holding the admin password. */}}
{{- define "berth.adminSecretName" -}}
{{- default (printf "%s-admin" (include "berth.fullname" .)) .Values.admin.existingSecret -}}
{{- end -}}

{{- define "berth.adminSecretKey" -}}
{{- if .Values.admin.existingSecret -}}
{{- .Values.admin.existingSecretKey -}}
{{- else -}}
password
{{- end -}}
{{- end -}}

{{/* "true" when the data directory holds state to keep: bbolt's meta.db or
the fs driver's blobs. */}}
{{- define "berth.dataIsState" -}}
{{- if or (eq .Values.storage.driver "fs") (eq .Values.metadata.driver "bolt") -}}
true
{{- end -}}
{{- end -}}

{{/* The claim the data directory is on, empty for an emptyDir. */}}
{{- define "berth.claimName" -}}
{{- $pvc := .Values.persistence.persistentVolumeClaim.registry -}}
{{- if and .Values.persistence.enabled (include "berth.dataIsState" .) -}}
{{- default (include "berth.fullname" .) $pvc.existingClaim -}}
{{- end -}}
{{- end -}}

{{/* "true" with mutual TLS: clients, the kubelet's probes included, need
a certificate on the main port. */}}
{{- define "berth.mutualTLS" -}}
{{- if and .Values.tls.enabled .Values.tls.clientCAKey -}}
true
{{- end -}}
{{- end -}}

{{/* "true" when the debug listener runs: for the metrics, or for the
probes with mutual TLS. */}}
{{- define "berth.debug" -}}
{{- if or .Values.metrics.enabled (include "berth.mutualTLS" .) -}}
true
{{- end -}}
{{- end -}}

{{/* The container port and scheme the probes use. */}}
{{- define "berth.probePort" -}}
{{- if include "berth.mutualTLS" . -}}debug{{- else -}}http{{- end -}}
{{- end -}}

{{- define "berth.probeScheme" -}}
{{- if and .Values.tls.enabled (not (include "berth.mutualTLS" .)) -}}HTTPS{{- else -}}HTTP{{- end -}}
{{- end -}}

{{/* The external URL: the value, else one made of the first ingress host. */}}
{{- define "berth.externalURL" -}}
{{- if .Values.externalURL -}}
{{- .Values.externalURL | trimSuffix "/" -}}
{{- else if and .Values.ingress.enabled .Values.ingress.hosts -}}
{{- $host := (first .Values.ingress.hosts).host -}}
{{- if $host -}}
{{- printf "%s://%s" (ternary "https" "http" (gt (len .Values.ingress.tls) 0)) $host -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The values' checks: a release the server would refuse, or that would
lose or corrupt data, fails here with the value to change named. */}}
{{- define "berth.validate" -}}
{{- $v := .Values -}}
{{- if not (has $v.storage.driver (list "fs" "s3" "oss")) -}}
{{- fail (printf "storage.driver %q must be fs, s3 or oss" $v.storage.driver) -}}
{{- end -}}
{{- if not (has $v.metadata.driver (list "bolt" "postgres")) -}}
{{- fail (printf "metadata.driver %q must be bolt or postgres" $v.metadata.driver) -}}
{{- end -}}
{{- if gt (int $v.replicaCount) 1 -}}
{{- if ne $v.metadata.driver "postgres" -}}
{{- fail (printf "replicaCount %d needs metadata.driver postgres: bbolt's file belongs to one pod" (int $v.replicaCount)) -}}
{{- end -}}
{{- if eq $v.storage.driver "fs" -}}
{{- fail (printf "replicaCount %d needs storage.driver s3 or oss: the fs driver's blobs belong to one pod" (int $v.replicaCount)) -}}
{{- end -}}
{{- end -}}
{{- if and (eq $v.metadata.driver "postgres") (not $v.metadata.postgres.existingSecret) -}}
{{- fail "metadata.driver postgres needs metadata.postgres.existingSecret, a Secret holding the DSN" -}}
{{- end -}}
{{- if and (eq $v.storage.driver "s3") (not $v.storage.s3.bucket) -}}
{{- fail "storage.driver s3 needs storage.s3.bucket" -}}
{{- end -}}
{{- if eq $v.storage.driver "oss" -}}
{{- if or (not $v.storage.oss.bucket) (not $v.storage.oss.region) -}}
{{- fail "storage.driver oss needs storage.oss.bucket and storage.oss.region" -}}
{{- end -}}
{{- if not $v.storage.oss.existingSecret -}}
{{- fail "storage.driver oss needs storage.oss.existingSecret, a Secret with the access key id and secret" -}}
{{- end -}}
{{- end -}}
{{- if and $v.admin.password (or (lt (len $v.admin.password) 8) (gt (len $v.admin.password) 72)) -}}
{{- fail "admin.password must be 8 to 72 characters" -}}
{{- end -}}
{{- if and $v.tls.enabled (not $v.tls.secretName) -}}
{{- fail "tls.enabled needs tls.secretName, a Secret with the certificate and key" -}}
{{- end -}}
{{- if and $v.metrics.serviceMonitor.enabled (not $v.metrics.enabled) -}}
{{- fail "metrics.serviceMonitor.enabled needs metrics.enabled (the debug listener it scrapes)" -}}
{{- end -}}
{{- if and (eq $v.service.type "ClusterIP") $v.service.nodePort -}}
{{- fail "service.nodePort needs service.type NodePort or LoadBalancer" -}}
{{- end -}}
{{- if and $v.persistence.persistentVolumeClaim.registry.existingClaim (not $v.persistence.enabled) -}}
{{- fail "persistence.persistentVolumeClaim.registry.existingClaim needs persistence.enabled" -}}
{{- end -}}
{{- end -}}
