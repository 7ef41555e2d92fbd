"""The ``ray start`` command line: rayStartParams defaults, resources -> params, and KubeRay's rendering.

Mirrors ``setMissingRayStartParams``, ``updateRayStartParamsResources``, ``updateRayStartParamsLabels``,
``generateRayStartCommand``, ``addWellKnownAcceleratorResources`` and ``convertParamMap`` in KubeRay's
``controllers/ray/common/pod.go``. The rendered string is part of the contract (users grep
``KUBERAY_GEN_RAY_START_CMD``; KubeRay's own tests compare it byte for byte), so its odd spacing is kept:
every flag is written as ``" --key=value "``, flags are sorted by key, and the pieces are joined without a
separator, which gives two spaces between flags and a trailing space::

    ray start --head  --block  --dashboard-agent-listen-port=52365  --dashboard-host=0.0.0.0  ...  --num-cpus=1␠

(``␠`` marks the trailing space.)

Booleans: a value ``true`` (any case) renders as a bare ``--key``, ``false`` is dropped, except for the flags
that take an explicit boolean (``log-color``, ``include-dashboard``, ``include-log-monitor``).

Every function takes a params dict and returns a new one; nothing is mutated in place.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any, Final

from raykube.api.quantity import Quantity, QuantityError
from raykube.builders.names import NodeKind

DEFAULT_GCS_PORT: Final = 6379
DEFAULT_METRICS_PORT: Final = 8080
DEFAULT_DASHBOARD_PORT: Final = 8265
DEFAULT_DASHBOARD_AGENT_PORT: Final = 52365
DEFAULT_SERVE_PORT: Final = 8000
DEFAULT_CLIENT_PORT: Final = 10001

#: Flags whose ``false`` value must be passed explicitly.
EXPLICIT_BOOLEAN_FLAGS: Final = frozenset({"log-color", "include-dashboard", "include-log-monitor"})
#: Container resources that become Ray custom resources, in KubeRay's naming.
ACCELERATOR_RESOURCES: Final = {"aws.amazon.com/neuroncore": "neuron_cores", "google.com/tpu": "TPU"}
_MIG: Final = re.compile(r"nvidia\.com/mig-\d+g\.\d+gb$")

Params = dict[str, str]


def is_gpu_resource(key: str) -> bool:
    """KubeRay's ``IsGPUResourceKey``: ends with ``gpu`` or is an NVIDIA MIG slice."""
    return key.endswith("gpu") or _MIG.search(key) is not None


def head_port(head_params: Mapping[str, str] | None) -> str:
    """Port workers use to reach the GCS: head ``rayStartParams.port`` or 6379 (``GetHeadPort``)."""
    return (head_params or {}).get("port", str(DEFAULT_GCS_PORT))


def with_group_resources(params: Mapping[str, str], resources: Mapping[str, str] | None) -> Params:
    """The group ``resources`` field overrides num-cpus / memory / num-gpus / resources."""
    out = dict(params)
    custom: dict[str, float] = {}
    for name, text in (resources or {}).items():
        try:
            quantity = Quantity.parse(text)
        except QuantityError:
            continue  # KubeRay logs and skips unparsable quantities
        lowered = name.lower()
        if lowered == "cpu":
            out["num-cpus"] = str(quantity.ceil())
        elif lowered == "memory":
            out["memory"] = str(quantity.ceil())
        elif is_gpu_resource(lowered):
            out["num-gpus"] = str(quantity.ceil())
        else:
            custom[name] = float(quantity.value)
    if custom:
        out["resources"] = f"'{go_json(custom)}'"
    return out


def with_group_labels(params: Mapping[str, str], labels: Mapping[str, str] | None) -> Params:
    """The group ``labels`` field becomes ``--labels=k1=v1,k2=v2`` (sorted by key)."""
    out = dict(params)
    if labels:
        out["labels"] = ",".join(f"{key}={labels[key]}" for key in sorted(labels))
    return out


def with_missing_defaults(params: Mapping[str, str], node: NodeKind, *, address: str) -> Params:
    """Defaults KubeRay always adds; ``block`` is forced to true.

    ``address`` (``<head fqdn>:<port>``) is used for workers only.
    """
    out = dict(params)
    if node == "worker":
        out.setdefault("address", address)
    else:
        out.setdefault("dashboard-host", "0.0.0.0")
    out.setdefault("metrics-export-port", str(DEFAULT_METRICS_PORT))
    out["block"] = "true"
    out.setdefault("dashboard-agent-listen-port", str(DEFAULT_DASHBOARD_AGENT_PORT))
    return out


def with_container_resources(params: Mapping[str, str], resources: Mapping[str, Any] | None) -> Params:
    """num-cpus, memory, num-gpus and accelerator ``resources`` from the Ray container, when not set."""
    out = dict(params)
    limits: Mapping[str, Any] = (resources or {}).get("limits") or {}
    requests: Mapping[str, Any] = (resources or {}).get("requests") or {}
    if "num-cpus" not in out:
        cpu = _nonzero(limits.get("cpu")) or _nonzero(requests.get("cpu"))
        if cpu is not None:
            out["num-cpus"] = str(cpu.ceil())
    if "memory" not in out:
        memory = _nonzero(limits.get("memory"))
        if memory is not None:
            out["memory"] = str(memory.ceil())
    if limits:
        out = _with_accelerators(out, limits)
    return out


def _with_accelerators(params: Params, limits: Mapping[str, Any]) -> Params:
    try:
        custom = _resources_map(params)
    except ValueError:
        return params  # KubeRay logs the parse error and adds nothing
    done = any(ray_name in custom for ray_name in ACCELERATOR_RESOURCES.values())
    for key in sorted(limits):
        value = _nonzero(limits[key])
        if value is None:
            continue
        if "num-gpus" not in params and is_gpu_resource(key):
            params["num-gpus"] = str(value.ceil())
        ray_name = ACCELERATOR_RESOURCES.get(key)
        if not done and ray_name is not None:
            if ray_name not in custom:
                custom[ray_name] = float(value.value)
                params["resources"] = f"'{go_json(custom)}'"
            done = True
    return params


def _resources_map(params: Mapping[str, str]) -> dict[str, float]:
    text = params.get("resources")
    if text is None:
        return {}
    loaded = json.loads(text.strip("'\"` "))
    if not isinstance(loaded, dict):
        raise ValueError("resources is not a JSON object")
    return {str(k): float(v) for k, v in loaded.items()}


def _nonzero(value: Any) -> Quantity | None:
    if value is None:
        return None
    try:
        quantity = Quantity.parse(value)
    except QuantityError:
        return None
    return quantity if quantity.value != 0 else None


def render_flags(params: Mapping[str, str]) -> str:
    """KubeRay's ``convertParamMap``: ``" --key=value "`` per flag, sorted, booleans as bare flags."""
    pieces: list[str] = []
    for key in sorted(params):
        value = params[key]
        if value.lower() in ("true", "false") and key not in EXPLICIT_BOOLEAN_FLAGS:
            if value.lower() == "true":
                pieces.append(f" --{key} ")
        else:
            pieces.append(f" --{key}={value} ")
    return "".join(pieces)


def render(node: NodeKind, params: Mapping[str, str]) -> str:
    """The full ``ray start`` command for a head or worker."""
    prefix = "ray start --head" if node == "head" else "ray start"
    return f"{prefix} {render_flags(params)}"


def go_json(value: Mapping[str, float]) -> str:
    """JSON of a string->float map the way Go's ``json.Marshal`` writes it (sorted keys, ``4`` not ``4.0``)."""
    body = ",".join(f"{json.dumps(key)}:{_go_float(value[key])}" for key in sorted(value))
    return "{" + body + "}"


def _go_float(number: float) -> str:
    if math.isfinite(number) and number.is_integer() and abs(number) < 1e21:
        return str(int(number))
    return repr(number)
