"""RayService with real Ray Serve on the real-node local cluster: our Ray image (``ray[default,serve]``), our
operator, no stand-ins, and a client that sends requests through ``<service>-serve-svc`` the whole time.

The RayService is KubeRay v1.7.0's ``ray-service.sample.yaml`` with its two applications and their
deployments (``fruit_app``: MangoStand, OrangeStand, PearStand, FruitMarket; ``math_app``: Adder, Multiplier,
Router), changed only where this machine needs it:

* pods have no route off the machine, so the samples' remote ``working_dir`` zips are replaced by our own
  modules of the same import paths (written here, in a ConfigMap mounted in the head pod, on ``PYTHONPATH``);
* two vCPUs and, during an upgrade, two clusters at once: each cluster is a head alone (``num-cpus: 2`` for
  Ray's scheduling, 300m requested), so MangoStand runs one replica instead of two on distinct nodes;
* FruitMarket names the pod that answered in an ``x-served-by`` header: the client sees which cluster served.

The client is a pod (the Ray image's Python) resolving the serve Service by cluster DNS, so its requests go
through the Service's ClusterIP and kube-proxy, as in-cluster callers' do.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from tests.integration.kube import kubectl
from tests.integration.operator import OperatorProcess, running_operator

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(2400)]
T = TypeVar("T")

NAME = "rayservice-sample"
SERVE_SVC = f"{NAME}-serve-svc"
DELETION_DELAY = 20

FRUIT = '''
"""The sample's fruit_app: a market asking three fruit stands for their price (user_config)."""
import socket

from ray import serve
from starlette.requests import Request
from starlette.responses import PlainTextResponse


class _Stand:
    def __init__(self):
        self.price = 0.0

    def reconfigure(self, config):
        self.price = float(config.get("price", 0))

    def check_price(self, amount):
        return self.price * amount


@serve.deployment
class MangoStand(_Stand):
    pass


@serve.deployment
class OrangeStand(_Stand):
    pass


@serve.deployment
class PearStand(_Stand):
    pass


@serve.deployment
class FruitMarket:
    def __init__(self, mango, orange, pear):
        self.stands = {"MANGO": mango, "ORANGE": orange, "PEAR": pear}

    async def __call__(self, request: Request):
        fruit, amount = await request.json()
        stand = self.stands.get(str(fruit).upper())
        total = await stand.check_price.remote(amount) if stand else -1
        return PlainTextResponse(f"{total:g}", headers={"x-served-by": socket.gethostname()})


deployment_graph = FruitMarket.bind(MangoStand.bind(), OrangeStand.bind(), PearStand.bind())
'''

CONDITIONAL_DAG = '''
"""The sample's math_app: a router sending ADD to Adder and MUL to Multiplier (user_config)."""
from ray import serve
from starlette.requests import Request


@serve.deployment
class Adder:
    def __init__(self):
        self.increment = 0

    def reconfigure(self, config):
        self.increment = config.get("increment", 0)

    def apply(self, x):
        return x + self.increment


@serve.deployment
class Multiplier:
    def __init__(self):
        self.factor = 1

    def reconfigure(self, config):
        self.factor = config.get("factor", 1)

    def apply(self, x):
        return x * self.factor


@serve.deployment
class Router:
    def __init__(self, adder, multiplier):
        self.ops = {"ADD": adder, "MUL": multiplier}

    async def __call__(self, request: Request):
        op, x = await request.json()
        return f"{await self.ops[op].apply.remote(x)} pizzas please!"


serve_dag = Router.bind(Adder.bind(), Multiplier.bind())
'''

CLIENT = '''
"""`client.py once PATH BODY` asks once; `client.py loop` waits for /tmp/go and asks until /tmp/stop."""
import json, os, sys, time, urllib.request

BASE = "http://%s:8000" % os.environ["SERVE_SVC"]


def ask(path, body, timeout=10):
    request = urllib.request.Request(BASE + path, data=body.encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read().decode(), response.headers.get("x-served-by", "")


if sys.argv[1] == "once":
    print(json.dumps(ask(sys.argv[2], sys.argv[3])))
    sys.exit()
while not os.path.exists("/tmp/go"):
    time.sleep(0.2)
deadline = time.time() + 1800  # bounded: a test that never says stop still ends
while time.time() < deadline and not os.path.exists("/tmp/stop"):
    started = time.time()
    try:
        answer, served_by = ask("/fruit", '["MANGO", 2]')
        print(json.dumps({"t": started, "ok": True, "answer": answer, "by": served_by}), flush=True)
    except Exception as err:  # every failure counts, whatever it is
        print(json.dumps({"t": started, "ok": False, "error": repr(err)}), flush=True)
    time.sleep(0.2)
print(json.dumps({"done": True}), flush=True)
'''


def serve_config(mango_price: int) -> str:
    """The sample's serveConfigV2 with our import paths available in the pod instead of remote zips."""
    def deployment(name: str, **options: Any) -> dict[str, Any]:
        return {"name": name, "num_replicas": 1, **options, "ray_actor_options": {"num_cpus": 0.1}}
    return yaml.safe_dump({"applications": [
        {"name": "fruit_app", "import_path": "fruit.deployment_graph", "route_prefix": "/fruit",
         "deployments": [deployment("MangoStand", user_config={"price": mango_price}),
                         deployment("OrangeStand", user_config={"price": 2}),
                         deployment("PearStand", user_config={"price": 1}),
                         deployment("FruitMarket")]},
        {"name": "math_app", "import_path": "conditional_dag.serve_dag", "route_prefix": "/calc",
         "deployments": [deployment("Adder", user_config={"increment": 3}),
                         deployment("Multiplier", user_config={"factor": 5}),
                         {"name": "Router", "num_replicas": 1}]},
    ]}, sort_keys=False)


def rayservice(image: str, *, mango_price: int = 3, generation: str = "1") -> dict[str, Any]:
    version = image.rpartition(":")[2]
    head = {
        "name": "ray-head", "image": image, "imagePullPolicy": "IfNotPresent",
        "env": [{"name": "PYTHONPATH", "value": "/home/ray/serveapp"},
                {"name": "FRUIT_MARKET_GENERATION", "value": generation}],
        "resources": {"requests": {"cpu": "300m", "memory": "1Gi"}, "limits": {"memory": "4Gi"}},
        "volumeMounts": [{"name": "serveapp", "mountPath": "/home/ray/serveapp"}],
    }
    return {
        "apiVersion": "ray.io/v1", "kind": "RayService", "metadata": {"name": NAME},
        "spec": {
            "serveConfigV2": serve_config(mango_price),
            "rayClusterDeletionDelaySeconds": DELETION_DELAY,
            "rayClusterConfig": {
                "rayVersion": version,
                "headGroupSpec": {"rayStartParams": {"num-cpus": "2"}, "template": {"spec": {
                    "containers": [head],
                    "volumes": [{"name": "serveapp", "configMap": {"name": "serveapp"}}]}}},
            },
        },
    }


def manifests(image: str) -> list[dict[str, Any]]:
    code = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "serveapp"},
            "data": {"fruit.py": FRUIT, "conditional_dag.py": CONDITIONAL_DAG, "client.py": CLIENT}}
    client = {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
        "spec": {
            "restartPolicy": "Never",
            "containers": [{
                "name": "client", "image": image, "imagePullPolicy": "IfNotPresent",
                "command": ["python", "-u", "/client/client.py", "loop"],
                "env": [{"name": "SERVE_SVC", "value": SERVE_SVC}],
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
                "volumeMounts": [{"name": "code", "mountPath": "/client"}],
            }],
            "volumes": [{"name": "code", "configMap": {"name": "serveapp"}}],
        },
    }
    return [code, client, rayservice(image)]


@pytest.fixture(scope="module")
def real(real_kubeconfig: Path, real_crds: None) -> Path:
    return real_kubeconfig


@pytest.fixture(scope="module")
def operator(real: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorProcess]:
    # The operator runs on this machine, outside the cluster network: Serve calls go through the API server.
    yield from running_operator(real, tmp_path_factory.mktemp("operator"), lease_namespace="kube-system",
                                extra=("--use-kubernetes-proxy",))


def _get(kubeconfig: Path, ns: str, *what: str) -> dict[str, Any]:
    out = kubectl(kubeconfig, "get", *what, "-n", ns, "-o", "json", check=False)
    return dict(json.loads(out.stdout)) if out.returncode == 0 else {}


def _clusters(kubeconfig: Path, ns: str) -> list[str]:
    return sorted(c["metadata"]["name"] for c in _get(kubeconfig, ns, "rayclusters").get("items", []))


def _diagnostics(kubeconfig: Path, ns: str, operator: OperatorProcess) -> str:
    parts = [kubectl(kubeconfig, "get", "rayservices,rayclusters,pods,services", "-n", ns, "-o", "wide",
                     check=False).stdout,
             json.dumps(_get(kubeconfig, ns, "rayservice", NAME).get("status"), indent=1),
             kubectl(kubeconfig, "get", "events", "-n", ns, "--sort-by=.lastTimestamp", check=False).stdout]
    pods = _get(kubeconfig, ns, "pods").get("items", [])
    for pod in pods:
        name = pod["metadata"]["name"]
        log = kubectl(kubeconfig, "logs", "-n", ns, name, "--tail=30", check=False)
        parts.append(f"--- {name}\n{log.stdout}{log.stderr}")
    parts.append(f"--- operator\n{operator.log_tail()}")
    return "\n".join(parts)


def _until(probe: Callable[[], T | bool | None], *, timeout: float, what: str, diagnose: Callable[[], str],
           every: float = 1.0) -> T:
    """Poll (every second: kubectl is not free on two busy vCPUs) until truthy; the timeout only bounds a
    broken system, it is no timing assertion."""
    deadline = time.monotonic() + timeout
    last: T | bool | None = None
    while time.monotonic() < deadline:
        if last := probe():
            return last  # type: ignore[return-value]  # True only for plain conditions (see kube.eventually)
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}\n{diagnose()}")


def _ready_with_apps_running(status: dict[str, Any]) -> bool:
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
    apps = (status.get("activeServiceStatus") or {}).get("applicationStatuses") or {}
    return ready and set(apps) == {"fruit_app", "math_app"} and all(a["status"] == "RUNNING" for a in apps.values())


def _ask(kubeconfig: Path, ns: str, path: str, body: str) -> tuple[str, str] | None:
    """One request from the client pod through the serve Service: (answer, pod that served), None on failure."""
    out = kubectl(kubeconfig, "exec", "-n", ns, "client", "--", "python", "/client/client.py", "once", path, body,
                  check=False)
    if out.returncode != 0:
        return None
    answer, served_by = json.loads(out.stdout)
    return str(answer), str(served_by)


def _patch(kubeconfig: Path, ns: str, body: dict[str, Any]) -> None:
    kubectl(kubeconfig, "patch", "rayservice", NAME, "-n", ns, "--type=merge", "-p", json.dumps(body))


def test_the_sample_rayservice_serves_updates_its_config_in_place_and_upgrades_without_failed_requests(
    real: Path, operator: OperatorProcess, ns: str, ray_image: str
) -> None:
    def diagnose() -> str:
        return _diagnostics(real, ns, operator)

    def status() -> dict[str, Any]:
        return dict(_get(real, ns, "rayservice", NAME).get("status") or {})

    started = time.monotonic()
    kubectl(real, "apply", "-n", ns, "-f", "-", input=yaml.safe_dump_all(manifests(ray_image)))

    # Ready, both applications RUNNING, and the serve Service answers with the applications' answers.
    first = _until(lambda: (s := status()) and _ready_with_apps_running(s) and s, timeout=900,
                   what="RayService Ready with fruit_app and math_app RUNNING", diagnose=diagnose)
    print(f"RayService Ready, applications RUNNING, in {time.monotonic() - started:.1f}s")
    old = first["activeServiceStatus"]["rayClusterName"]
    assert _clusters(real, ns) == [old] and not (first.get("pendingServiceStatus") or {}).get("rayClusterName")
    fruit = _until(lambda: _ask(real, ns, "/fruit", '["MANGO", 2]'), timeout=120, what="an answer from /fruit",
                   diagnose=diagnose)
    assert fruit[0] == "6" and fruit[1].startswith(f"{old}-head-"), fruit
    calc = _ask(real, ns, "/calc", '["MUL", 3]')
    assert calc is not None and calc[0] == "15 pizzas please!", calc
    serve_ip = _get(real, ns, "service", SERVE_SVC)["spec"]["clusterIP"]

    # From here on the client sends a request every 0.2 s through the serve Service.
    kubectl(real, "exec", "-n", ns, "client", "--", "touch", "/tmp/go")

    # Only the serve config changes: the same cluster serves the new answer.
    _patch(real, ns, {"spec": {"serveConfigV2": serve_config(mango_price=4)}})
    changed = time.monotonic()
    eight = _until(lambda: (r := _ask(real, ns, "/fruit", '["MANGO", 2]')) and r[0] == "8" and r, timeout=300,
                   what="the new price served", diagnose=diagnose)
    print(f"serve config change served in {time.monotonic() - changed:.1f}s")
    assert eight[1].startswith(f"{old}-head-"), eight
    assert _clusters(real, ns) == [old], "a serve config change made a new cluster"
    assert (status().get("activeServiceStatus") or {}).get("rayClusterName") == old

    # The cluster spec changes (an env var): a pending cluster comes up, traffic moves, the old one goes.
    spec = rayservice(ray_image, mango_price=4, generation="2")["spec"]
    _patch(real, ns, {"spec": {"rayClusterConfig": spec["rayClusterConfig"]}})
    spec_changed = time.time()
    pending = _until(lambda: (status().get("pendingServiceStatus") or {}).get("rayClusterName"), timeout=120,
                     what="a pending cluster", diagnose=diagnose)
    assert pending != old
    _until(lambda: (status().get("activeServiceStatus") or {}).get("rayClusterName") == pending, timeout=900,
           what="the pending cluster promoted", diagnose=diagnose)
    promoted = time.time()
    # The old cluster outlives the promotion by rayClusterDeletionDelaySeconds, then it is deleted.
    assert old in _clusters(real, ns), f"{old} deleted at once, not after {DELETION_DELAY}s"
    _until(lambda: _clusters(real, ns) == [pending], timeout=300, what=f"{old} deleted", diagnose=diagnose)
    deleted = time.time()
    after = status()
    assert _ready_with_apps_running(after) and not (after.get("pendingServiceStatus") or {}).get("rayClusterName")
    assert _get(real, ns, "service", SERVE_SVC)["spec"]["clusterIP"] == serve_ip, "the serve Service was replaced"
    # Traffic keeps flowing once the old cluster's pods are gone (nothing still routes to them).
    _until(lambda: not _get(real, ns, "pods", "-l", f"ray.io/cluster={old}").get("items"), timeout=300,
           what=f"{old}'s pods gone", diagnose=diagnose)
    time.sleep(5)
    kubectl(real, "exec", "-n", ns, "client", "--", "touch", "/tmp/stop")
    _until(lambda: _get(real, ns, "pod", "client").get("status", {}).get("phase") in ("Succeeded", "Failed"),
           timeout=60, what="the client finished", diagnose=diagnose)

    lines = [json.loads(line) for line in kubectl(real, "logs", "-n", ns, "client").stdout.splitlines()
             if line.startswith("{")]
    assert lines and lines[-1] == {"done": True}, lines[-3:]
    requests = [r for r in lines if "t" in r]
    failed = [r for r in requests if not r["ok"]]
    first_new = next((r["t"] for r in requests if r["ok"] and r["by"].startswith(f"{pending}-head-")), None)
    last_old = max((r["t"] for r in requests if r["ok"] and r["by"].startswith(f"{old}-head-")), default=None)
    print(f"upgrade: spec change -> promoted {promoted - spec_changed:.1f}s, -> old cluster deleted "
          f"{deleted - spec_changed:.1f}s; first answer from the new cluster "
          f"{(first_new or 0) - spec_changed:.1f}s after the spec change (last from the old "
          f"{(last_old or 0) - spec_changed:.1f}s); {len(requests)} requests, {len(failed)} failed")
    assert not failed, f"{len(failed)} of {len(requests)} requests failed: {failed[:5]}"
    assert first_new is not None and last_old is not None, "traffic did not move from the old cluster to the new"
    assert {r["answer"] for r in requests if r["t"] > spec_changed} == {"8"}
    # The new cluster serves every request after the old one's last.
    assert all(r["by"].startswith(f"{pending}-head-") for r in requests if r["t"] > last_old)
