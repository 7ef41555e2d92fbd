//go:build tools

// Package tools pins KubeRay's Go operator for the side-by-side benchmark (`python -m bench.operators`)
// and `make conformance`; raykube itself never runs it. v1.6.2: the newest ray-operator release the Go
// module proxy serves here (v1.7.0's source archive is refused).
package tools

import _ "github.com/ray-project/kuberay/ray-operator"
