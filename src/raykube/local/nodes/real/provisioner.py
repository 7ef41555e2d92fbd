"""The real node's volume provisioner: a small process that carries out `volumes.plan` once a second.

Started by `raykube local up --nodes real` after CoreDNS (`lifecycle.start`), stopped by `down` like every
recorded process. It polls instead of watching: three list calls a second are nothing for a local API server,
and a poll needs no resync logic. It authenticates with its own client certificate (user
`system:raykube-storage-provisioner`, allowed only what `volumes.rbac_objects` grants) and writes Kubernetes'
external-provisioner Events on the claims: `ProvisioningSucceeded`, `ProvisioningFailed`.

An API error in a pass is printed (to the process's log) and the next pass tries again; the process only ends
when it is stopped.

    python -m raykube.local.nodes.real.provisioner --server URL --pki DIR --root DIR --ready-file FILE
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from raykube.local.controlplane.api import LocalApi
from raykube.local.nodes.real import volumes
from raykube.local.nodes.real.plan import NODE_NAME

CERT_NAME = "storage-provisioner"


def _event(claim: dict[str, Any], kind: str, reason: str, message: str) -> dict[str, Any]:
    meta = claim["metadata"]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
        "involvedObject": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                           "name": meta["name"], "uid": meta["uid"]},
        "type": kind, "reason": reason, "message": message,
        "source": {"component": volumes.PROVISIONER},
        "firstTimestamp": now, "lastTimestamp": now, "count": 1,
    }


class Provisioner:
    """One pass at a time: list, plan, act; see the module docstring."""

    def __init__(self, api: LocalApi, root: Path, node: str = NODE_NAME) -> None:
        self.api, self.root, self.node = api, root, node
        self._refused: set[str] = set()  # claim uids already told why (one Event each, not one per pass)

    def sync(self) -> volumes.VolumePlan:
        todo = volumes.plan(self.api.items("/api/v1/persistentvolumeclaims"),
                            self.api.items("/api/v1/persistentvolumes"),
                            self.api.items("/apis/storage.k8s.io/v1/storageclasses"), self.root, self.node)
        for volume in todo.create:
            self._create(volume)
        for volume in todo.delete:
            self._delete(volume)
        for refusal in todo.refuse:
            uid = refusal.claim["metadata"]["uid"]
            if uid not in self._refused:
                self._refused.add(uid)
                self._tell(refusal.claim, "Warning", "ProvisioningFailed", refusal.message)
        return todo

    def _create(self, volume: dict[str, Any]) -> None:
        directory = Path(volume["spec"]["hostPath"]["path"])
        directory.mkdir(parents=True, exist_ok=True)
        # Containers run as any user (Ray's image as uid 1000): the directory must be theirs to write, as
        # kind's and k3s's local-path volumes are.
        directory.chmod(0o777)
        self.api.create("/api/v1/persistentvolumes", volume)
        claim_ref = volume["spec"]["claimRef"]
        claim = {"metadata": {k: claim_ref[k] for k in ("namespace", "name", "uid")}}
        print(f"provisioned {volume['metadata']['name']} for {claim_ref['namespace']}/{claim_ref['name']} "
              f"in {directory}", flush=True)
        self._tell(claim, "Normal", "ProvisioningSucceeded",
                   f"Successfully provisioned volume {volume['metadata']['name']}")

    def _delete(self, volume: dict[str, Any]) -> None:
        directory = volumes.deletable_dir(volume, self.root)
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
        self.api.delete(f"/api/v1/persistentvolumes/{volume['metadata']['name']}")
        print(f"deleted {volume['metadata']['name']} and its directory {directory}", flush=True)

    def _tell(self, claim: dict[str, Any], kind: str, reason: str, message: str) -> None:
        self.api.create(f"/api/v1/namespaces/{claim['metadata']['namespace']}/events",
                        _event(claim, kind, reason, message))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="raykube.local.nodes.real.provisioner", description=__doc__)
    parser.add_argument("--server", required=True, help="the API server's URL")
    parser.add_argument("--pki", type=Path, required=True, help=f"directory with ca.crt and {CERT_NAME}.crt/.key")
    parser.add_argument("--root", type=Path, required=True, help="where volume directories are made")
    parser.add_argument("--ready-file", type=Path, required=True, help="written after the first complete pass")
    parser.add_argument("--node", default=NODE_NAME)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    args.root.mkdir(parents=True, exist_ok=True)
    api = LocalApi(args.server, ca=args.pki / "ca.crt", cert=args.pki / f"{CERT_NAME}.crt",
                   key=args.pki / f"{CERT_NAME}.key")
    provisioner = Provisioner(api, args.root.resolve(), args.node)
    while True:
        try:
            provisioner.sync()
            if not args.ready_file.exists():
                args.ready_file.write_text("synced\n")
        except Exception as err:  # an API hiccup: say so, try again next pass
            print(f"pass failed: {err}", file=sys.stderr, flush=True)
        time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
