{{- /*
Names and labels. The RayCluster's name follows the usual Helm rule so that KubeRay users get the same
name they had: fullnameOverride; else the release name if it already contains the chart name (nameOverride,
"kuberay" by default); else "<release>-<name>". Release "raycluster" -> "raycluster-kuberay".
*/ -}}
{{- define "ray-cluster.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ray-cluster.fullname" -}}
{{- $name := include "ray-cluster.name" . -}}
{{- $full := .Values.fullnameOverride | default (ternary .Release.Name (printf "%s-%s" .Release.Name $name) (contains $name .Release.Name)) -}}
{{- $full | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ray-cluster.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- /* `key:{{ include "ray-cluster.yaml" (list VALUE INDENT) }}`: VALUE as a YAML block, or inline when empty. */ -}}
{{- define "ray-cluster.yaml" -}}
{{- $value := index . 0 -}}
{{- if $value }}{{ toYaml $value | nindent (index . 1) }}{{ else }} {{ toYaml $value }}{{ end -}}
{{- end -}}

{{- /* A group is left out when its `disabled` is true (as a boolean or the string "true"). */ -}}
{{- define "ray-cluster.enabled" -}}
{{- if ne (toString .disabled) "true" }}true{{ end -}}
{{- end -}}

{{- /*
rayStartParams of a group: `rayStartParams` merged with its old name `initArgs` (which wins on a clash), every
value turned into a string as the RayCluster API wants (whole numbers in full: 100000000, not 1e+08 as
KubeRay's chart writes them). An empty map when neither is set.
*/ -}}
{{- define "ray-cluster.rayStartParams" -}}
{{- $params := dict -}}
{{- range $source := list .rayStartParams .initArgs -}}
{{- range $key, $value := ($source | default dict) -}}
{{- if and (kindIs "float64" $value) (eq $value (float64 (int64 $value))) -}}
{{- $value = int64 $value -}}
{{- end -}}
{{- $_ := set $params $key (toString $value) -}}
{{- end -}}
{{- end -}}
{{- toYaml $params -}}
{{- end -}}

{{- /*
The pod template of one group. Input: dict with
  root       the chart's top-level context
  group      the group's values (head, worker or one additionalWorkerGroups entry)
  container  the Ray container's name: ray-head or ray-worker
  resources  what to use when the group has no resources (optional)
*/ -}}
{{- define "ray-cluster.podTemplate" -}}
{{- $root := .root -}}
{{- $g := .group -}}
{{- $image := $g.image | default dict -}}
{{- $labels := merge (fromYaml (include "ray-cluster.labels" $root)) ($g.labels | default dict) -}}
{{- $env := concat (dig "containerEnv" list ($root.Values.common | default dict) | default list) ($g.containerEnv | default list) -}}
metadata:
  annotations:{{ include "ray-cluster.yaml" (list ($g.annotations | default dict) 4) }}
  labels: {{- toYaml $labels | nindent 4 }}
spec:
  {{- with $g.dnsConfig }}
  dnsConfig: {{- toYaml . | nindent 4 }}
  {{- end }}
  imagePullSecrets:{{ include "ray-cluster.yaml" (list ($root.Values.imagePullSecrets | default list) 4) }}
  {{- with $g.serviceAccountName }}
  serviceAccountName: {{ . }}
  {{- end }}
  {{- with $g.restartPolicy }}
  restartPolicy: {{ . }}
  {{- end }}
  {{- with $g.runtimeClassName }}
  runtimeClassName: {{ . }}
  {{- end }}
  {{- with $g.initContainers }}
  initContainers: {{- toYaml . | nindent 4 }}
  {{- end }}
  containers:
    - name: {{ .container }}
      image: {{ printf "%s:%s" (toString ($image.repository | default $root.Values.image.repository)) (toString ($image.tag | default $root.Values.image.tag)) | quote }}
      imagePullPolicy: {{ $image.pullPolicy | default $root.Values.image.pullPolicy }}
      {{- with $g.command }}
      command: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $g.args }}
      args: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $env }}
      env: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $g.envFrom }}
      envFrom: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $g.ports }}
      ports: {{- toYaml . | nindent 8 }}
      {{- end }}
      resources:{{ include "ray-cluster.yaml" (list ($g.resources | default .resources | default dict) 8) }}
      securityContext:{{ include "ray-cluster.yaml" (list ($g.securityContext | default dict) 8) }}
      {{- with $g.volumeMounts }}
      volumeMounts: {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $g.lifecycle }}
      lifecycle: {{- toYaml . | nindent 8 }}
      {{- end }}
    {{- with $g.sidecarContainers }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $g.volumes }}
  volumes: {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $g.topologySpreadConstraints }}
  topologySpreadConstraints: {{- toYaml . | nindent 4 }}
  {{- end }}
  affinity:{{ include "ray-cluster.yaml" (list ($g.affinity | default dict) 4) }}
  {{- with $g.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  {{- with $g.priority }}
  priority: {{ . }}
  {{- end }}
  tolerations:{{ include "ray-cluster.yaml" (list ($g.tolerations | default list) 4) }}
  nodeSelector:{{ include "ray-cluster.yaml" (list ($g.nodeSelector | default dict) 4) }}
  {{- with $g.podSecurityContext }}
  securityContext: {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with $g.resourceClaims }}
  resourceClaims: {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{- /* One entry of spec.workerGroupSpecs. Input: dict with root, name, group, and optional resources. */ -}}
{{- define "ray-cluster.workerGroup" -}}
{{- $g := .group -}}
- groupName: {{ .name }}
  {{- if not (kindIs "invalid" $g.replicas) }}
  replicas: {{ $g.replicas }}
  {{- end }}
  minReplicas: {{ $g.minReplicas | default 0 }}
  maxReplicas: {{ $g.maxReplicas | default 2147483647 }}
  numOfHosts: {{ $g.numOfHosts | default 1 }}
  rayStartParams:{{ include "ray-cluster.yaml" (list (fromYaml (include "ray-cluster.rayStartParams" $g)) 4) }}
  template: {{- include "ray-cluster.podTemplate" (dict "root" .root "group" $g "container" "ray-worker" "resources" .resources) | nindent 4 }}
{{- end -}}
