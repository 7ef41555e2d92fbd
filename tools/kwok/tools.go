//go:build tools

// Package tools pins kwok, which simulates nodes (and their pods) for tests that run no containers.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
