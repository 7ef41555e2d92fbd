//go:build tools

// Package tools pins the helm CLI used by raykube's charts, tests and demo.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
