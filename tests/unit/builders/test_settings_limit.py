"""The per-cluster pod limit setting: read from mappings, refused when not a whole number."""

from __future__ import annotations

import pytest

from raykube.builders.settings import DEFAULT_MAX_PODS_PER_CLUSTER, SettingsError, settings_from_mapping


def test_the_limit_defaults_to_ten_thousand_and_reads_whole_numbers() -> None:
    assert settings_from_mapping({}).max_pods_per_cluster == DEFAULT_MAX_PODS_PER_CLUSTER == 10_000
    assert settings_from_mapping({"max_pods_per_cluster": "0"}).max_pods_per_cluster == 0
    assert settings_from_mapping({"max_pods_per_cluster": 25}).max_pods_per_cluster == 25


@pytest.mark.parametrize("value", ["-1", "ten", True, 1.5])
def test_anything_else_is_refused(value: object) -> None:
    with pytest.raises(SettingsError, match="whole number"):
        settings_from_mapping({"max_pods_per_cluster": value})
