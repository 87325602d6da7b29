"""Trivy without registries: the binary and DB built by airgap/trivy/build.sh.

build.sh prints the path it built last on stdout; this module runs it and
hands back the paths, plus the flags that keep a scan off the network.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neosale_airgap.env import REPO_ROOT, airgap_env

BUILD_SH = REPO_ROOT / "airgap" / "trivy" / "build.sh"
ADVISORIES = REPO_ROOT / "tests" / "fixtures" / "advisories"
DEFAULT_VERSION = "v0.74.0"

# Where a pipeline step mounts the DB cache dir inside a container.
CONTAINER_CACHE_DIR = "/var/cache/trivy"


@dataclass(frozen=True)
class TrivyBuild:
    """What build.sh produced for one trivy version."""

    version: str
    binary: Path  # the trivy CLI (static, linux/amd64)
    db_tool: Path  # trivy-db, the DB builder
    cache_dir: Path  # pass as --cache-dir; holds db/trivy.db and db/metadata.json

    @property
    def db_dir(self) -> Path:
        return self.cache_dir / "db"

    @property
    def db_tarball(self) -> Path:
        """trivy.db + metadata.json, the layout of trivy's own DB artifact."""
        return self.cache_dir.with_name(self.cache_dir.name + ".tar.gz")


def normalize_version(version: str | None) -> str:
    return "v" + (version or DEFAULT_VERSION).removeprefix("v")


def cache_root(env: dict[str, str] | None = None) -> Path:
    env = airgap_env() if env is None else env
    return Path(env["NEOSALE_CACHE"]) / "trivy"


def binary_path(version: str | None = None, env: dict[str, str] | None = None) -> Path:
    return cache_root(env) / normalize_version(version) / "bin" / "trivy"


def db_cache_dir(env: dict[str, str] | None = None) -> Path:
    env = airgap_env() if env is None else env
    return Path(env.get("NEOSALE_TRIVY_DB_CACHE") or cache_root(env) / "db-cache")


def vulnerabilities(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every vulnerability of a `--format json` report, across its results."""
    return [v for result in report.get("Results") or [] for v in result.get("Vulnerabilities") or []]


def _last_line(out: str, what: str) -> Path:
    lines = out.strip().splitlines()
    if not lines:
        raise RuntimeError(f"build.sh printed no {what} path")
    path = Path(lines[-1])
    if not path.is_absolute() or not path.exists():
        raise RuntimeError(f"build.sh printed {path!s} as the {what}, which does not exist")
    return path


def build(
    version: str | None = None,
    *,
    with_db: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = 3600,
) -> TrivyBuild:
    """Run build.sh (a no-op when up to date) and return what it built.

    Build logs go to this process's stderr; only the paths are captured.
    """
    version = normalize_version(version)
    env = dict(airgap_env() if env is None else env)
    env["TRIVY_VERSION"] = version
    run = [str(BUILD_SH)]
    binary = _last_line(
        subprocess.run(run, env=env, check=True, stdout=subprocess.PIPE, text=True, timeout=timeout).stdout,
        "trivy binary",
    )
    cache_dir = db_cache_dir(env)
    if with_db:
        cache_dir = _last_line(
            subprocess.run(
                [*run, "db"], env=env, check=True, stdout=subprocess.PIPE, text=True, timeout=timeout
            ).stdout,
            "DB cache dir",
        )
    db_tool = binary.with_name("trivy-db")
    if not os.access(db_tool, os.X_OK):
        raise RuntimeError(f"{db_tool} is missing next to {binary}")
    return TrivyBuild(version=version, binary=binary, db_tool=db_tool, cache_dir=cache_dir)
