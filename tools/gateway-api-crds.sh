#!/usr/bin/env bash
# Print the directory of the Gateway API standard CRDs (GatewayClass, Gateway, HTTPRoute, GRPCRoute,
# ReferenceGrant, BackendTLSPolicy): config/crd/standard/*.yaml of the Go module sigs.k8s.io/gateway-api at
# GATEWAY_API_VERSION (versions.env), pinned with its hash in tools/gateway-api/go.mod and go.sum.
#
# The module is fetched once through the Go module proxy (`go mod download` checks it against go.sum) and its CRDs
# copied to $RAYKUBE_CACHE/crds/gateway-api-<version>/; later calls only print that directory. The integration
# tests install them for the RayService incremental upgrade (tests/integration/conftest.py: gateway_crds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${RAYKUBE_CACHE:-$HOME/.cache/raykube}
export GOFLAGS=-mod=mod GOTOOLCHAIN=local
# shellcheck source=../src/raykube/local/versions.env
. "$here/../src/raykube/local/versions.env"
out="$cache/crds/gateway-api-$GATEWAY_API_VERSION"
if [ ! -f "$out/.complete" ]; then
  command -v go >/dev/null || PATH="$PATH:/usr/local/go/bin"
  command -v go >/dev/null || { echo "gateway-api-crds: 'go' is not on PATH; install Go 1.26" >&2; exit 1; }
  dir=$(cd "$here/gateway-api" && go mod download -json "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" |
        sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] && [ -d "$dir/config/crd/standard" ] || {
    echo "gateway-api-crds: sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION has no config/crd/standard" >&2; exit 1; }
  rm -rf "$out.tmp" && mkdir -p "$out.tmp"
  cp "$dir"/config/crd/standard/gateway.networking.k8s.io_*.yaml "$out.tmp/"
  chmod u+w "$out.tmp"/*.yaml
  rm -rf "$out" && mv "$out.tmp" "$out" && touch "$out/.complete"
fi
echo "$out"
