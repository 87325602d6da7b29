"""The builder's CLI refuses bad input clearly, before touching the engine."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

from neosale_airgap.env import airgap_env
from neosale_airgap.manifest import load_manifest

CLI = Callable[..., subprocess.CompletedProcess[str]]


def test_unknown_image_lists_known_names(cli: CLI) -> None:
    res = cli(airgap_env(), "build", "node", "nodejs")
    assert res.returncode == 2
    known = ", ".join(load_manifest(Path("airgap/images.toml").resolve()).names)
    assert f"unknown image 'nodejs'; known images: {known}" in res.stderr
    assert res.stdout == ""


def test_registry_down_names_address_and_fix(cli: CLI, free_port: int) -> None:
    addr = f"127.0.0.1:{free_port}"
    env = airgap_env() | {"NEOSALE_REGISTRY_ADDR": addr}
    for command in ("build", "check"):
        res = cli(env, command, "node", timeout=120)
        assert res.returncode == 1
        assert f"http://{addr}/v2/" in res.stderr
        assert "airgap/registry.sh start" in res.stderr


def test_broken_manifest_is_reported(cli: CLI, tmp_path: Path) -> None:
    bad = tmp_path / "images.toml"
    bad.write_text('[images.web]\ntag = "1"\n')
    res = cli(airgap_env(), "--manifest", str(bad), "build")
    assert res.returncode == 1
    assert "image 'web': 'version' is required" in res.stderr


def test_list_works_without_registry(cli: CLI, free_port: int) -> None:
    addr = f"127.0.0.1:{free_port}"
    res = cli(airgap_env() | {"NEOSALE_REGISTRY_ADDR": addr}, "list", "--json", timeout=120)
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["registry_up"] is False
    assert doc["images"][0]["ref"] == f"{addr}/offline/node:22"


def test_engine_down_names_socket_and_fix(cli: CLI, registry: dict[str, str], tmp_path: Path) -> None:
    sock = tmp_path / "engine.sock"
    env = registry | {"_EXPERIMENTAL_DAGGER_RUNNER_HOST": f"unix://{sock}"}
    res = cli(env, "build", "node", timeout=120)
    assert res.returncode == 1
    assert f"no Dagger engine answers at unix://{sock}" in res.stderr
    assert "airgap/engine.sh start" in res.stderr
