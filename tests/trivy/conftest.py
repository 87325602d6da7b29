"""Trivy built from the Go module proxy, its DB built from tests/fixtures/advisories."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from neosale_airgap.trivy import TrivyBuild, build
from neosale_ci.scan import offline_flags

Scan = Callable[..., subprocess.CompletedProcess[str]]
NpmProject = Callable[[Path, str | None], Path]


def _no_network_prefix() -> list[str]:
    """`unshare -n` where allowed: the scan then has no network at all."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []


@pytest.fixture(scope="session")
def trivy_build() -> TrivyBuild:
    return build()


@pytest.fixture(scope="session")
def trivy_scan(trivy_build: TrivyBuild, tmp_path_factory: pytest.TempPathFactory) -> Scan:
    """Run `trivy <args> <offline flags>`, with no network where unshare allows.

    The session scans with its own copy of the DB cache dir, since trivy keeps
    its scan cache there too: the shared copy stays untouched.
    """
    cache = tmp_path_factory.mktemp("trivy-cache")
    shutil.copytree(trivy_build.cache_dir, cache, dirs_exist_ok=True)
    prefix = _no_network_prefix()

    def scan(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        cmd = [*prefix, str(trivy_build.binary), *args, *offline_flags(str(cache))]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    return scan


def write_npm_project(root: Path, lodash: str | None) -> Path:
    """A project with that lodash version installed, or with no dependency.

    It carries both what `trivy fs` reads (package-lock.json) and what image
    and rootfs scans read (node_modules/<name>/package.json).
    """
    root.mkdir(parents=True, exist_ok=True)
    deps = {"lodash": lodash} if lodash else {}
    manifest = {"name": "neosale-web", "version": "1.0.0", "dependencies": deps}
    packages: dict[str, Any] = {"": manifest}
    if lodash:
        packages["node_modules/lodash"] = {
            "version": lodash,
            "resolved": f"https://registry.npmjs.org/lodash/-/lodash-{lodash}.tgz",
            "license": "MIT",
        }
        pkg = root / "node_modules" / "lodash"
        pkg.mkdir(parents=True, exist_ok=True)
        (pkg / "package.json").write_text(
            json.dumps({"name": "lodash", "version": lodash, "license": "MIT", "main": "lodash.js"})
        )
    (root / "package.json").write_text(json.dumps(manifest, indent=2))
    lock = {
        "name": "neosale-web",
        "version": "1.0.0",
        "lockfileVersion": 3,
        "requires": True,
        "packages": packages,
    }
    (root / "package-lock.json").write_text(json.dumps(lock, indent=2))
    return root


@pytest.fixture(scope="session")
def npm_project() -> NpmProject:
    return write_npm_project


@pytest.fixture
def lodash_4_17_15(tmp_path: Path) -> Path:
    return write_npm_project(tmp_path / "web", "4.17.15")
