#!/usr/bin/env bash
# Build raykube's pinned Go tools (Kubernetes, etcd, helm, kwok, CoreDNS, our pause) from the Go module proxy.
#
# Every binary lands in $RAYKUBE_CACHE/bin/<name>-<version>/<name> and is skipped when already there,
# so a warm run costs a few stat() calls. Each Go module below pins its versions in go.mod/go.sum.
# Usage: tools/build.sh [name ...]   (no names: all of them but the on-demand ones, see on_demand)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${RAYKUBE_CACHE:-$HOME/.cache/raykube}
# GOFLAGS from the caller (e.g. -p=1 on a busy machine) is kept.
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false${GOFLAGS:+ $GOFLAGS}" GOTOOLCHAIN=local

# shellcheck source=../src/raykube/local/versions.env
. "$here/../src/raykube/local/versions.env"
K8S=$K8S_VERSION ETCD=$ETCD_VERSION HELM=$HELM_VERSION KWOK=$KWOK_VERSION
COREDNS=$COREDNS_VERSION PAUSE=$PAUSE_VERSION KUBERAY=$KUBERAY_VERSION
k8s_ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34 -X k8s.io/component-base/version.gitTreeState=clean"

# name  version  module-dir  package  ldflags
table() {
  echo "etcd $ETCD k8s ./etcd -s -w"
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy; do
    echo "$c $K8S k8s k8s.io/kubernetes/cmd/$c $k8s_ldflags"
  done
  echo "helm $HELM helm helm.sh/helm/v3/cmd/helm -s -w -X helm.sh/helm/v3/internal/version.version=$HELM"
  echo "kwok $KWOK kwok sigs.k8s.io/kwok/cmd/kwok -s -w"
  # Real nodes: cluster DNS (CoreDNS with the plugins we use) and the pod sandbox binary.
  echo "coredns $COREDNS coredns . -s -w"
  echo "pause $PAUSE pause . -s -w"
}
# Built only when named (`tools/build.sh kuberay-operator`): KubeRay's operator, for bench/ only.
on_demand() {
  echo "kuberay-operator $KUBERAY kuberay github.com/ray-project/kuberay/ray-operator -s -w"
}

# A non-login shell (CI) may lack Go's default install location on PATH.
command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "tools: 'go' is not on PATH; install Go 1.26" >&2; exit 1; }
wanted=" $* "
rows() { table; [ "$wanted" = "  " ] || on_demand; }
total=$(rows | wc -l); i=0; built=0
while read -r name version dir pkg ldflags; do
  i=$((i + 1))
  [ "$wanted" = "  " ] || [[ "$wanted" == *" $name "* ]] || continue
  out="$cache/bin/$name-$version/$name"
  if [ -x "$out" ]; then
    printf '[%d/%d] %-24s %s cached\n' "$i" "$total" "$name" "$version"
    continue
  fi
  printf '[%d/%d] %-24s %s building ...\n' "$i" "$total" "$name" "$version"
  start=$(date +%s)
  log=$(mktemp)
  if ! (cd "$here/$dir" && go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg") >"$log" 2>&1; then
    echo "tools: building $name ($pkg @ $version, module tools/$dir) failed:" >&2
    tail -n 20 "$log" >&2
    if grep -qiE 'proxy|410 Gone|404 Not Found|403|reading https' "$log"; then
      echo "tools: the Go module proxy refused a module needed by $pkg (see above)" >&2
    fi
    rm -f "$log"; exit 1
  fi
  rm -f "$log"; mv "$out.tmp" "$out"; built=$((built + 1))
  printf '[%d/%d] %-24s %s built in %ss\n' "$i" "$total" "$name" "$version" "$(( $(date +%s) - start ))"
done < <(rows)
echo "tools: $built built, cache $cache/bin"
