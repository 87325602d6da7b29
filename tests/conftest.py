"""Shared fixtures: the local Dagger engine and a connected client."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

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
