{{- /* Names: the usual Helm rules (fullnameOverride; else the release name if it contains the name). */ -}}
{{- define "kuberay-operator.name" -}}
{{- .Values.nameOverride | default .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kuberay-operator.fullname" -}}
{{- $name := include "kuberay-operator.name" . -}}
{{- $full := .Values.fullnameOverride | default (ternary .Release.Name (printf "%s-%s" .Release.Name $name) (contains $name .Release.Name)) -}}
{{- $full | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "kuberay-operator.component" -}}
{{- .Values.componentOverride | default "kuberay-operator" -}}
{{- end -}}

{{- define "kuberay-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kuberay-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "kuberay-operator.labels" -}}
{{ include "kuberay-operator.selectorLabels" . }}
app.kubernetes.io/component: {{ include "kuberay-operator.component" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{- define "kuberay-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "kuberay-operator.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- /*
The namespaces the operator watches, comma-separated; empty means all namespaces. `watchNamespace` may be a
list or a comma-separated string; `singleNamespaceInstall` alone means the release namespace.
*/ -}}
{{- define "kuberay-operator.watchNamespaces" -}}
{{- $watch := .Values.watchNamespace -}}
{{- if kindIs "string" $watch -}}
{{- $watch = splitList "," $watch -}}
{{- end -}}
{{- $namespaces := list -}}
{{- range ($watch | default list) -}}
{{- if trim (toString .) -}}
{{- $namespaces = append $namespaces (trim (toString .)) -}}
{{- end -}}
{{- end -}}
{{- if and (not $namespaces) .Values.singleNamespaceInstall -}}
{{- $namespaces = list .Release.Namespace -}}
{{- end -}}
{{- $namespaces | uniq | join "," -}}
{{- end -}}

{{- /*
What the operator does with the API, and nothing more (README.md, "RBAC", explains each rule). The same
rules go into the ClusterRole, or into a Role in every watched namespace.
*/ -}}
{{- /* "true" when featureGates switches RayCronJob on (off by default): its controller needs more RBAC. */ -}}
{{- define "kuberay-operator.raycronjob" -}}
{{- range (.Values.featureGates | default list) -}}
{{- /* `--set featureGates[4].enabled=true` leaves nil entries before the one it sets: skip them. */ -}}
{{- if and (kindIs "map" .) (eq (toString .name) "RayCronJob") (eq (toString .enabled) "true") -}}true{{- end -}}
{{- end -}}
{{- end -}}

{{- define "kuberay-operator.rules" -}}
# Every rule below is a request the operator makes (tests/integration/test_chart_rbac_audit.py checks them
# against the API server's audit log), or is listed there with the reason it stays.
# RayClusters: watched; finalizer added and removed (update); created, patched (suspended worker groups) and
# deleted by RayJob and RayService; get: RayJob reads its cluster before that patch (and the autoscaler Role
# grants get and patch, which Kubernetes lets only a holder grant).
- apiGroups: [ray.io]
  resources: [rayclusters]
  verbs: [get, list, watch, create, update, patch, delete]
# RayJobs: watched; finalizer (update); deleted by their own DeleteSelf rule; created by RayCronJob.
- apiGroups: [ray.io]
  resources: [rayjobs]
  verbs: [list, watch, create, update, delete]
- apiGroups: [ray.io]
  resources: [rayclusters/status, rayjobs/status]
  verbs: [update]
# blockOwnerDeletion on owned objects needs `update` on the owner's finalizers where the
# OwnerReferencesPermissionEnforcement admission plugin is on (OpenShift); never a request of its own.
- apiGroups: [ray.io]
  resources: [rayclusters/finalizers, rayjobs/finalizers]
  verbs: [update]
# RayServices: watched, finalizer added and removed (update), status written; their clusters are RayClusters
# (above), their Services and head pod labels below.
- apiGroups: [ray.io]
  resources: [rayservices]
  verbs: [list, watch, update]
- apiGroups: [ray.io]
  resources: [rayservices/status]
  verbs: [update]
- apiGroups: [ray.io]
  resources: [rayservices/finalizers]
  verbs: [update]
# EndpointSlices of the RayService serve Services: watched for numServeEndpoints.
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
# Gateway API (RayService NewClusterWithIncrementalUpgrade): the RayService's Gateway and HTTPRoute, read with a
# GET each pass (no informer), created, their spec replaced, deleted on suspend.
- apiGroups: [gateway.networking.k8s.io]
  resources: [gateways, httproutes]
  verbs: [get, create, update, delete]
{{- if include "kuberay-operator.raycronjob" . }}
# RayCronJobs (feature gate RayCronJob): watched, and lastScheduleTime written; their runs are RayJobs (above).
- apiGroups: [ray.io]
  resources: [raycronjobs]
  verbs: [list, watch]
- apiGroups: [ray.io]
  resources: [raycronjobs/status]
  verbs: [update]
{{- end }}
# Ray pods: created, deleted, watched; patched (a RayService head pod's ray.io/serve label). `get` on pods and
# `patch` on pods/resize are what the autoscaler Role the operator creates grants (Kubernetes lets a Role be
# created only by someone holding its permissions).
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch, create, delete, patch]
- apiGroups: [""]
  resources: [pods/resize]
  verbs: [patch]
# Head, headless and serve Services: watched, created, deleted; RayJob and RayService re-point one (patch).
- apiGroups: [""]
  resources: [services]
  verbs: [list, watch, create, delete, patch]
{{- if .Values.useKubernetesProxy }}
# Ray dashboards through the API server's Service proxy (useKubernetesProxy): GET and POST (PUT for Serve
# configs); the Serve proxy's /-/healthz on a RayService head pod through the pod proxy (GET).
- apiGroups: [""]
  resources: [services/proxy]
  verbs: [get, create, update]
- apiGroups: [""]
  resources: [pods/proxy]
  verbs: [get]
{{- end }}
# The auth token Secret of `authOptions.mode: token`: created once, never read back.
- apiGroups: [""]
  resources: [secrets]
  verbs: [create]
# The autoscaler's ServiceAccount, Role and RoleBinding (enableInTreeAutoscaling): created once (an existing
# one counts as done), never read.
- apiGroups: [""]
  resources: [serviceaccounts]
  verbs: [create]
- apiGroups: [rbac.authorization.k8s.io]
  resources: [roles, rolebindings]
  verbs: [create]
# Events on Ray objects (events.k8s.io; patch for the series count of a repeated Event).
- apiGroups: [events.k8s.io]
  resources: [events]
  verbs: [create, patch]
# The embedded (rocksdb) GCS storage PVC <cluster>-gcs-pvc: created once, never read back.
- apiGroups: [""]
  resources: [persistentvolumeclaims]
  verbs: [create]
# The submitter Job of a RayJob (watched, created, deleted) and the GCS FT Redis clean-up Job of a RayCluster.
- apiGroups: [batch]
  resources: [jobs]
  verbs: [list, watch, create, delete]
# The head Ingress (headGroupSpec.enableIngress): created once; the RayCluster's deletion takes it away.
- apiGroups: [networking.k8s.io]
  resources: [ingresses]
  verbs: [create]
{{- end -}}

{{- /* Values raykube accepts but does not act on, as NOTES lines (empty when there are none). */ -}}
{{- define "kuberay-operator.ignored" -}}
{{- $v := .Values -}}
{{- $notes := list -}}
{{- $batch := $v.batchScheduler | default dict -}}
{{- if or $batch.enabled $batch.name -}}
{{- $notes = append $notes "batchScheduler: raykube has no batch-scheduler integration yet; pods use the default scheduler." -}}
{{- end -}}
{{- if ($v.configuration | default dict).enabled -}}
{{- $notes = append $notes "configuration.enabled: raykube reads no Configuration file yet; set operator switches with `env`." -}}
{{- end -}}
{{- $logging := $v.logging | default dict -}}
{{- if or $logging.baseDir $logging.fileName -}}
{{- $notes = append $notes "logging.baseDir/fileName: raykube logs to stdout only." -}}
{{- end -}}
{{- range $notes }}
- {{ . }}
{{- end -}}
{{- end -}}
