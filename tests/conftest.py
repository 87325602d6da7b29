"""Shared fixtures: the local Dagger engine and a connected client; the Docker
Engine and the deploy test images."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from neosale_airgap.env import REPO_ROOT, apply_airgap_env


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def engine() -> dict[str, str]:
    """Start the local engine, or reuse the one running; leave it running."""
    env = apply_airgap_env()
    subprocess.run([str(REPO_ROOT / "airgap" / "engine.sh"), "start"], check=True, env=env)
    return env


@pytest.fixture(scope="session")
async def dag_client(engine: dict[str, str], anyio_backend: str) -> AsyncIterator[object]:
    """One shared connection per test session; use `dagger.dag` in tests."""
    import dagger

    async with dagger.connection(dagger.Config(log_output=sys.stderr)) as conn:
        yield conn


@pytest.fixture(scope="session")
def rootfs_tar(engine: dict[str, str]) -> Path:
    """The debootstrap bookworm rootfs tarball the stand-in images start from."""
    out = subprocess.run(
        [str(REPO_ROOT / "airgap" / "rootfs.sh")], check=True, capture_output=True, text=True, env=engine
    ).stdout
    return Path(out.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    import docker  # type: ignore[import-untyped]

    from tests.deploy.helpers import ensure_dockerd

    ensure_dockerd()
    client = docker.from_env(timeout=120)
    yield client
    client.close()


@pytest.fixture(scope="session")
def app_images(docker_client: Any) -> dict[str, str]:
    """The deploy test app per version (v1..v4), pushed; version -> repo@sha256."""
    from tests.deploy.helpers import build_app_images

    images: dict[str, str] = build_app_images(docker_client)
    return images
