// Pins the Gateway API module whose config/crd/standard/*.yaml are the Gateway API CRDs the integration tests
// install (RayService NewClusterWithIncrementalUpgrade). Nothing is built from it: tools/gateway-api-crds.sh
// downloads the module (verified against go.sum) and copies the CRDs out of it.
module raykube.dev/tools/gateway-api

go 1.24.0

require sigs.k8s.io/gateway-api v1.4.1
