"""`raykube local`: a throwaway Kubernetes cluster on this machine, for tests, benchmarks and demos.

`cluster.LocalCluster` brings one up and down; everything else is one of its parts:

  controlplane/   etcd, kube-apiserver, controller manager and scheduler: argv, PKI, kubeconfigs, a small client
  nodes/fake      kwok's configuration and Node objects for fake nodes (pods Running with no process behind)
  nodes/real/     one real node (containerd, kubelet, kube-proxy, CoreDNS) and the machine it changes
  images/         images built without Docker (Dockerfile subset, OCI archives) and the store nodes import from
  charts/         raykube's Helm chart repository, and the chart-deployed operator run as a local process

Shared by all of them: `binaries` (the pinned Go-built tools), `processes` (start, watch and stop by
recorded pid) and `ports`. Nothing here imports the operator (an import-linter contract).
"""
