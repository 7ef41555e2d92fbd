"""The Gateway API CRDs the integration tests install come from one pinned, hash-checked module version."""

from __future__ import annotations

import re
from pathlib import Path

from raykube.local.binaries import versions

TOOLS = Path(__file__).resolve().parents[3] / "tools"


def test_the_gateway_api_version_is_pinned_with_its_hash_where_the_script_reads_it() -> None:
    version = versions()["GATEWAY_API_VERSION"]
    go_mod = (TOOLS / "gateway-api" / "go.mod").read_text()
    assert re.search(rf"^require sigs\.k8s\.io/gateway-api {re.escape(version)}$", go_mod, re.M)
    go_sum = (TOOLS / "gateway-api" / "go.sum").read_text()
    assert re.search(rf"^sigs\.k8s\.io/gateway-api {re.escape(version)} h1:\S+=$", go_sum, re.M)
    script = (TOOLS / "gateway-api-crds.sh").read_text()
    assert "GATEWAY_API_VERSION" in script and "config/crd/standard" in script
