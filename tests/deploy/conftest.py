"""Real docker containers: test images built once per session, one throwaway target per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import Env, build_app_images, cleanup, ensure_dockerd, new_env


def pytest_configure(config: pytest.Config) -> None:
    registered = config.getini("markers")
    if not any(str(m).startswith("docker:") for m in registered):
        config.addinivalue_line("markers", "docker: needs a Docker Engine (scripts/dockerd.sh start)")


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    import docker  # type: ignore[import-untyped]

    ensure_dockerd()
    client = docker.from_env(timeout=120)
    yield client
    client.close()


@pytest.fixture(scope="session")
def app_images(docker_client: Any) -> dict[str, str]:
    images: dict[str, str] = build_app_images(docker_client)
    return images


@pytest.fixture
def env(tmp_path: Path, docker_client: Any, app_images: dict[str, str]) -> Iterator[Env]:
    e = new_env(tmp_path, app_images)
    yield e
    cleanup(docker_client, e.project)
