"""The local control plane: component command lines, its PKI and kubeconfigs, and a small client for set-up.

`LocalCluster` (`raykube.local.cluster`) starts the components in order; the modules here are the parts
it needs: `components` (argv of etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok),
`pki` (CA, certificates, service-account keys), `kubeconfig`, and `api` (health checks and the few calls
made before the operator's async client exists).
"""
