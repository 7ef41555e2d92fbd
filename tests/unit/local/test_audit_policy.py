"""The local API server's audit log: ServiceAccount requests only, without kube-system's, at Metadata level."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from raykube.local import binaries
from raykube.local.controlplane import components
from raykube.local.controlplane.components import AUDIT_POLICY, Layout


def _level(groups: list[str]) -> str:
    """The level the policy gives a request from a user in ``groups`` (first matching rule, as the API server)."""
    for rule in yaml.safe_load(AUDIT_POLICY)["rules"]:
        if not rule.get("userGroups") or set(rule["userGroups"]) & set(groups):
            return str(rule["level"])
    return "None"


def test_the_policy_records_service_accounts_outside_kube_system_only() -> None:
    policy = yaml.safe_load(AUDIT_POLICY)
    assert (policy["apiVersion"], policy["kind"]) == ("audit.k8s.io/v1", "Policy")
    operator = ["system:serviceaccounts", "system:serviceaccounts:ray-system", "system:authenticated"]
    controller = ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]
    admin = ["system:masters", "system:authenticated"]
    assert (_level(operator), _level(controller), _level(admin)) == ("Metadata", "None", "None")


def test_the_api_server_writes_the_log_in_the_state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A unit test must not need the Go build: an executable placeholder stands in for kube-apiserver.
    monkeypatch.setenv("RAYKUBE_CACHE", str(tmp_path / "cache"))
    version = binaries.versions()['K8S_VERSION']
    placeholder = binaries.cache_dir() / "bin" / f"kube-apiserver-{version}" / "kube-apiserver"
    placeholder.parent.mkdir(parents=True)
    placeholder.write_text("#!/bin/sh\n")
    placeholder.chmod(0o755)
    layout = Layout(state_dir=tmp_path, etcd_data=tmp_path / "etcd", etcd_port=1, etcd_peer_port=2,
                    apiserver_port=3, controller_manager_port=4, scheduler_port=5, kwok_port=6)
    argv = [str(a) for a in components.apiserver(layout)]
    assert f"--audit-policy-file={tmp_path / 'audit-policy.yaml'}" in argv
    assert f"--audit-log-path={tmp_path / 'logs' / 'audit.log'}" in argv
    assert "--audit-log-format=json" in argv
