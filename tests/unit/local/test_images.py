"""OCI archives, the Dockerfile subset, .dockerignore rules, image names and the rayproject/ray tag aliases."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pytest

from raykube.local.images import oci
from raykube.local.images import store as image_store
from raykube.local.images.dockerfile import BuildError, ignored, parse, substitute
from raykube.local.images.recipes import plan_ray


def test_an_oci_archive_holds_layout_index_manifest_config_and_layers(tmp_path: Path) -> None:
    layer = oci.layer_from_files(tmp_path / "l.tar", {"bin/tool": (b"#!/bin/sh\n", 0o755)}, dirs=["bin"],
                                 symlinks={"usr/bin/tool": "../../bin/tool"})
    digest = oci.write_image(tmp_path / "img.tar", [layer], oci.ImageConfig(entrypoint=["/bin/tool"], user="1000"),
                             ["docker.io/x/y:1", "docker.io/x/y:latest"], arch="amd64")
    with tarfile.open(tmp_path / "img.tar") as tar:
        names = tar.getnames()
        index = json.load(tar.extractfile("index.json"))  # type: ignore[arg-type]
        manifest_bytes = tar.extractfile(f"blobs/sha256/{digest.removeprefix('sha256:')}").read()  # type: ignore[union-attr]
        manifest = json.loads(manifest_bytes)
        config = json.load(tar.extractfile(f"blobs/sha256/{manifest['config']['digest'][7:]}"))  # type: ignore[arg-type]
    assert "oci-layout" in names
    assert f"sha256:{hashlib.sha256(manifest_bytes).hexdigest()}" == digest
    assert [m["annotations"]["io.containerd.image.name"] for m in index["manifests"]] == [
        "docker.io/x/y:1", "docker.io/x/y:latest"]
    assert {m["digest"] for m in index["manifests"]} == {digest}
    assert manifest["layers"] == [{"mediaType": oci.MEDIA_LAYER, "digest": layer.digest, "size": layer.size}]
    assert config["rootfs"]["diff_ids"] == [layer.digest]
    assert config["config"] == {"Entrypoint": ["/bin/tool"], "User": "1000"}
    assert config["architecture"] == "amd64"


def test_the_same_files_give_the_same_layer_digest(tmp_path: Path) -> None:
    files = {"a": (b"1", 0o644), "b/c": (b"2", 0o600)}
    first = oci.layer_from_files(tmp_path / "1.tar", files, dirs=["b"])
    second = oci.layer_from_files(tmp_path / "2.tar", dict(reversed(files.items())), dirs=["b"])
    assert first.digest == second.digest


def test_a_directory_layer_keeps_links_and_modes_and_skips_proc_contents(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "proc" / "1").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc" / "a").write_text("x")
    (root / "etc" / "a").chmod(0o640)
    (root / "etc" / "b").hardlink_to(root / "etc" / "a")
    (root / "etc" / "c").symlink_to("a")
    layer = oci.layer_from_dir(tmp_path / "l.tar", root)
    with tarfile.open(layer.path) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert sorted(members) == ["etc", "etc/a", "etc/b", "etc/c", "proc"]
    assert members["etc/a"].mode == 0o640
    assert members["etc/b"].islnk() and members["etc/b"].linkname == "etc/a"
    assert members["etc/c"].issym() and members["etc/c"].linkname == "a"


def test_dockerfile_parsing_joins_continuations_and_splits_flags() -> None:
    text = """
    # comment
    FROM debian:bookworm-slim
    ARG V=1
    RUN --mount=type=cache,target=/root/.cache/pip echo a \\
        # a comment inside the command
        && echo b
    ENTRYPOINT ["/bin/x"]
    """
    ins = parse(text)
    assert [i.keyword for i in ins] == ["FROM", "ARG", "RUN", "ENTRYPOINT"]
    assert ins[2].flags == ("--mount=type=cache,target=/root/.cache/pip",)
    assert " ".join(ins[2].args.split()) == "echo a && echo b"


def test_variable_substitution_follows_docker() -> None:
    values = {"A": "1", "EMPTY": ""}
    assert substitute("$A-${A}-${B:-dflt}-${EMPTY:-e}-${A:-x}", values) == "1-1-dflt-e-1"


@pytest.mark.parametrize(("path", "expected"), [
    ("src/raykube/__pycache__/x.pyc", True),
    ("src/raykube/cli/__pycache__", True),
    ("src/raykube/local/cluster.py", False),
    ("keep/me.pyc", False),
])
def test_dockerignore_patterns(path: str, expected: bool) -> None:
    assert ignored(path, ["**/__pycache__", "**/*.pyc", "!keep/me.pyc"]) is expected


def test_image_names_are_normalized_like_docker() -> None:
    assert image_store.normalize("rayproject/ray:2.52.0") == "docker.io/rayproject/ray:2.52.0"
    assert image_store.normalize("busybox") == "docker.io/library/busybox:latest"
    assert image_store.normalize("quay.io/kuberay/operator:v1.7.0") == "quay.io/kuberay/operator:v1.7.0"
    assert image_store.normalize("localhost:5000/a") == "localhost:5000/a:latest"
    assert image_store.short("docker.io/library/busybox:latest") == "busybox:latest"


def test_a_requested_tag_is_mapped_to_what_builds_here_and_registered_as_asked() -> None:
    plan = plan_ray(tags=["2.46.0-py310-aarch64"])
    assert plan.ray_version == "2.46.0" and plan.python == "3.11"
    assert "rayproject/ray:2.46.0" in plan.names and "rayproject/ray:2.46.0-py310-aarch64" in plan.names
    notes = " ".join(plan.notes)
    assert "Python 3.10 is not available" in notes
    if oci.go_arch() != "arm64":
        assert "aarch64 is not this machine's architecture" in notes


def test_the_default_ray_version_is_the_pinned_one_and_gpu_tags_say_so() -> None:
    plan = plan_ray()
    assert plan.names[0] == f"rayproject/ray:{plan.ray_version}" and not plan.notes
    assert any("no GPU" in n for n in plan_ray(tags=["2.52.0-py311-cu121"]).notes)
    with pytest.raises(BuildError):
        plan_ray("2.52.0", tags=["2.46.0"])


def test_redis_recipe_is_registered_under_the_samples_tags() -> None:
    from raykube.local.images.recipes import images_dir
    from raykube.local.redisimage import redis_names

    names = redis_names(["7.2.4", "redis:7.4.0"])
    assert names[0] == "redis:7.4.0" and names.count("redis:7.4.0") == 1 and "redis:7.2.4" in names
    assert image_store.normalize("redis:7.4.0") == "docker.io/library/redis:7.4.0"
    steps = parse((images_dir() / "redis" / "Dockerfile").read_text())
    assert steps[0].args == "debian:bookworm-slim"
    assert any("redis-server" in s.args for s in steps if s.keyword == "RUN")
