"""Every name, label set and selector of the objects the operator creates, in one place.

KubeRay spreads these over ``controllers/ray/utils/util.go`` (``PodName``, ``CheckName``, ``CheckLabel``,
``GenerateHeadServiceName``, ``GenerateFQDNServiceName``...), ``common/association.go`` (list selectors) and
``common/pod.go`` (``labelPod``). Controllers and builders take names and selectors only from here
(house habit 5), so a rename is one edit and the tests pin each rule once.

Two truncation rules exist and are easy to confuse:

* :func:`pod_name_prefix` keeps the *start* of the prefix (first 50 characters) and lower-cases it: pod
  names stay recognisable and ``generateName`` adds 5 random characters, at most 63 in total.
* :func:`check_name` keeps the *end* (last 50 characters) and replaces a leading digit or punctuation
  character with ``r``; KubeRay uses it for the autoscaler ServiceAccount/Role/RoleBinding and the auth Secret.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from typing import Final, Literal

from raykube import reasons

MAX_NAME_PREFIX: Final = 50
MAX_LABEL_VALUE: Final = 63

HEAD_SERVICE_SUFFIX: Final = "head-svc"
HEADLESS_SERVICE_SUFFIX: Final = "headless"
SERVE_SERVICE_SUFFIX: Final = "serve-svc"
INGRESS_SUFFIX: Final = "head-ingress"

NodeKind = Literal["head", "worker"]


# --- truncation rules ------------------------------------------------------------------------------------------


def check_name(name: str) -> str:
    """KubeRay's ``CheckName``: the last 50 characters, a leading digit/punctuation replaced by ``r``."""
    if len(name) > MAX_NAME_PREFIX:
        name = name[len(name) - MAX_NAME_PREFIX :]
    if name and (name[0].isdigit() or name[0] in string.punctuation):
        name = "r" + name[1:]
    return name


def check_label(value: str) -> str:
    """KubeRay's ``CheckLabel``: the last 63 characters, a leading punctuation character replaced by ``r``."""
    if len(value) > MAX_LABEL_VALUE:
        value = value[len(value) - MAX_LABEL_VALUE :]
    if value and value[0] in string.punctuation:
        value = "r" + value[1:]
    return value


def pod_name_prefix(prefix: str, node: NodeKind, *, generate: bool = True) -> str:
    """KubeRay's ``PodName``: ``<prefix[:50]>-<node>`` lower-cased, with a trailing ``-`` for generateName."""
    name = f"{prefix[:MAX_NAME_PREFIX]}-{node}".lower()
    return f"{name}-" if generate else name


# --- pods ------------------------------------------------------------------------------------------------------


def head_pod_name(cluster: str, *, deterministic: bool) -> str:
    """``generateName`` of the head pod (``<cluster>-head-``), or its fixed name ``<cluster>-head``."""
    return pod_name_prefix(cluster, "head", generate=not deterministic)


def worker_pod_generate_name(cluster: str, group: str) -> str:
    """``generateName`` of a worker pod: ``<cluster>-<group>-worker-`` (prefix cut at 50)."""
    return pod_name_prefix(f"{cluster}-{group}", "worker")


def identifier(cluster: str, node: NodeKind) -> str:
    """Value of ``ray.io/identifier``: ``<cluster>-head`` or ``<cluster>-worker``."""
    return check_label(f"{cluster}-{node}")


def worker_replica_name(group: str, suffix: str) -> str:
    """``ray.io/worker-group-replica-name`` of one multi-host replica: ``<group>-<5 random>``."""
    return f"{group}-{suffix}"


# --- services and networking -----------------------------------------------------------------------------------


def head_service_name(cluster: str, custom_name: str | None = None) -> str:
    """``<cluster>-head-svc``, or ``headGroupSpec.headService.metadata.name`` when set."""
    return custom_name or f"{cluster}-{HEAD_SERVICE_SUFFIX}"


def headless_service_name(cluster: str) -> str:
    """The headless worker Service of multi-host groups: ``<cluster>-headless``."""
    return f"{cluster}-{HEADLESS_SERVICE_SUFFIX}"


def serve_service_name(owner: str) -> str:
    """``<cluster or rayservice>-serve-svc``."""
    return f"{owner}-{SERVE_SERVICE_SUFFIX}"


def serve_service_label(owner: str) -> str:
    """Value of ``ray.io/serve`` on a serve Service: ``<owner>-serve``."""
    return f"{owner}-serve"


def ingress_name(cluster: str) -> str:
    """``<cluster>-head-ingress``."""
    return f"{cluster}-{INGRESS_SUFFIX}"


def fqdn(service: str, namespace: str, cluster_domain: str) -> str:
    """``<service>.<namespace>.svc.<cluster domain>``."""
    return f"{service}.{namespace}.svc.{cluster_domain}"


def short_host(fqdn_name: str) -> str:
    """The first DNS label of an FQDN (KubeRay's deprecated ``RAY_IP``)."""
    return fqdn_name.split(".")[0]


# --- autoscaler RBAC, auth -------------------------------------------------------------------------------------


def autoscaler_service_account_name(cluster: str, template_service_account: str | None) -> str:
    """The head template's ``serviceAccountName`` if set, else the cluster name (clipped by :func:`check_name`)."""
    return check_name(template_service_account or cluster)


def autoscaler_role_name(cluster: str) -> str:
    """Role and RoleBinding of the autoscaler: the cluster name (clipped)."""
    return check_name(cluster)


def auth_secret_name(cluster: str) -> str:
    """Secret holding the generated Ray auth token: the cluster name (clipped)."""
    return check_name(cluster)


# --- parents ---------------------------------------------------------------------------------------------------


def child_cluster_name(parent: str, suffix: str) -> str:
    """RayCluster created by a RayJob or RayService: ``<parent>-<5 random>``."""
    return f"{parent}-{suffix}"


def job_submission_id(rayjob: str, suffix: str) -> str:
    """Generated submission id of a RayJob: ``<rayjob>-<5 random>``."""
    return f"{rayjob}-{suffix}"


def submitter_job_name(rayjob: str) -> str:
    """The K8sJobMode submitter batch/v1 Job: the RayJob's own name (cut to 63)."""
    return check_label(rayjob)


def cron_rayjob_name(cronjob: str, unix_seconds: int) -> str:
    """RayJob created by a RayCronJob tick: ``<cronjob>-<minutes since the epoch>`` (KubeRay's name). A tick off
    the whole minute (``@every 20s``) counts in seconds, so two ticks within one minute never share a name. The
    same tick always gets the same name: a repeated pass finds its RayJob instead of starting the run twice.
    At most 36 + 1 + 10 characters: within the 47 a RayJob name may have."""
    return f"{cronjob}-{unix_seconds // 60 if unix_seconds % 60 == 0 else unix_seconds}"


# --- label sets and selectors ----------------------------------------------------------------------------------


def pod_labels(cluster: str, node: NodeKind, group: str) -> dict[str, str]:
    """The labels KubeRay puts on every Ray pod (``labelPod``)."""
    return {
        reasons.LABEL_IS_RAY_NODE: reasons.IS_RAY_NODE_YES,
        reasons.LABEL_CLUSTER: cluster,
        reasons.LABEL_NODE_TYPE: node,
        reasons.LABEL_GROUP: group,
        reasons.LABEL_IDENTIFIER: identifier(cluster, node),
        reasons.LABEL_APP_NAME: reasons.APP_NAME_KUBERAY,
        reasons.LABEL_APP_CREATED_BY: reasons.CREATED_BY_KUBERAY,
    }


#: Pod labels a user template can never override.
PROTECTED_POD_LABELS: Final = frozenset({reasons.LABEL_NODE_TYPE, reasons.LABEL_GROUP, reasons.LABEL_CLUSTER})


def head_service_labels(cluster: str) -> dict[str, str]:
    """Default labels (and selector keys) of the head Service."""
    return {
        reasons.LABEL_CLUSTER: cluster,
        reasons.LABEL_NODE_TYPE: reasons.NodeType.HEAD.value,
        reasons.LABEL_IDENTIFIER: identifier(cluster, "head"),
        reasons.LABEL_APP_NAME: reasons.APP_NAME_KUBERAY,
        reasons.LABEL_APP_CREATED_BY: reasons.CREATED_BY_KUBERAY,
    }


def cluster_selector(cluster: str) -> dict[str, str]:
    """Every pod of a cluster."""
    return {reasons.LABEL_CLUSTER: cluster}


def head_pod_selector(cluster: str) -> dict[str, str]:
    """The head pod of a cluster."""
    return {reasons.LABEL_CLUSTER: cluster, reasons.LABEL_NODE_TYPE: reasons.NodeType.HEAD.value}


def worker_group_selector(cluster: str, group: str) -> dict[str, str]:
    """The pods of one worker group."""
    return {reasons.LABEL_CLUSTER: cluster, reasons.LABEL_GROUP: group}


def workers_selector(cluster: str) -> dict[str, str]:
    """Every worker pod of a cluster (selector of the headless Service)."""
    return {reasons.LABEL_CLUSTER: cluster, reasons.LABEL_NODE_TYPE: reasons.NodeType.WORKER.value}


def originated_from(name: str, kind: str) -> dict[str, str]:
    """``ray.io/originated-from-cr-name`` / ``-crd`` of objects created for a RayJob or RayService."""
    return {reasons.LABEL_ORIGINATED_FROM_CR_NAME: name, reasons.LABEL_ORIGINATED_FROM_CRD: kind}


def rbac_labels(cluster: str) -> dict[str, str]:
    """Labels of the autoscaler ServiceAccount, Role and RoleBinding."""
    return {
        reasons.LABEL_CLUSTER: cluster,
        reasons.LABEL_APP_NAME: reasons.APP_NAME_KUBERAY,
        reasons.LABEL_APP_CREATED_BY: reasons.CREATED_BY_KUBERAY,
    }


# --- random suffixes -------------------------------------------------------------------------------------------

#: Alphabet of Kubernetes' ``rand.String`` (no vowels, no confusable digits), which KubeRay uses for every suffix.
SUFFIX_ALPHABET: Final = "bcdfghjklmnpqrstvwxz2456789"
SUFFIX_LENGTH: Final = 5


def random_suffix(length: int = SUFFIX_LENGTH) -> str:
    """``rand.String(length)``: the suffix of replica names, child clusters and submission ids."""
    return "".join(secrets.choice(SUFFIX_ALPHABET) for _ in range(length))


def seeded_suffix(seed: str, length: int = SUFFIX_LENGTH) -> str:
    """A deterministic stand-in for :func:`random_suffix` (``raykube render``, tests): same seed, same suffix."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(SUFFIX_ALPHABET[b % len(SUFFIX_ALPHABET)] for b in digest[:length])
