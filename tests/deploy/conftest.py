"""Real docker containers: one throwaway target per test (images and the
docker client are session fixtures in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import Env, cleanup, new_env


@pytest.fixture
def env(tmp_path: Path, docker_client: Any, app_images: dict[str, str]) -> Iterator[Env]:
    e = new_env(tmp_path, app_images)
    yield e
    cleanup(docker_client, e.project)
