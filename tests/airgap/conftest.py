"""Fixtures of the air-gapped image set: the local registry and the built images."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from neosale_airgap.env import REPO_ROOT, apply_airgap_env

REGISTRY_SH = str(REPO_ROOT / "airgap" / "registry.sh")
# The images these tests use; trivy's binary is someone else's build and is tested apart.
TESTED = ["node", "nginx", "postgres", "redis", "python", "playwright", "hadolint", "registry"]


def images_cli(env: dict[str, str], *args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "neosale_airgap.images", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO_ROOT,
    )


CLI = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli() -> CLI:
    """Run `python -m neosale_airgap.images ARGS` with an env: cli(env, *args, timeout=...)."""
    return images_cli


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def registry() -> dict[str, str]:
    """The local registry on $NEOSALE_REGISTRY_ADDR, started if needed and left running."""
    env = apply_airgap_env()
    subprocess.run([REGISTRY_SH, "start"], check=True, env=env, timeout=300)
    return env


@pytest.fixture(scope="session")
def image_set(engine: dict[str, str], registry: dict[str, str]) -> dict[str, Any]:
    """Build (or find up to date) the tested images; the builder's JSON report."""
    res = images_cli(registry, "build", *TESTED, "--json")
    assert res.returncode == 0, res.stderr[-4000:]
    report: dict[str, Any] = json.loads(res.stdout)
    return report


@pytest.fixture(scope="session")
def refs(image_set: dict[str, Any]) -> dict[str, str]:
    return {img["name"]: img["ref"] for img in image_set["images"]}
