//go:build tools

// Package tools pins the Kubernetes and etcd binaries raykube's local cluster runs.
// k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces staging modules with
// local paths), so this module requires it and points each staging module at the
// published v0.Y.Z copy instead.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "go.etcd.io/etcd/server/v3/etcdmain"
)
