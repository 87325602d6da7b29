"""The module pointed at the air-gapped stand-ins, for engine tests."""

from __future__ import annotations

import subprocess

import pytest
from dagger import dag

from neosale_airgap import standins
from neosale_airgap.env import REPO_ROOT
from neosale_ci import Neosale
from neosale_ci.context import SOURCE_IGNORE


@pytest.fixture(scope="session")
def image_set(engine: dict[str, str]) -> standins.ModuleImages:
    """The local registry and the stand-in images, built if missing."""
    subprocess.run([str(REPO_ROOT / "airgap" / "registry.sh"), "start"], check=True, env=engine)
    subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "python"), "-m", "neosale_airgap.images", "build"],
        check=True,
        env=engine,
    )
    return standins.module_images()


@pytest.fixture
def neosale(dag_client: object, image_set: standins.ModuleImages) -> Neosale:
    source = dag.host().directory(str(REPO_ROOT), exclude=SOURCE_IGNORE)
    return Neosale(source=source, **image_set)
