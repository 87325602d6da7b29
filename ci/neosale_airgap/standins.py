"""The module's image arguments pointed at the air-gapped image set.

Only the air-gapped entry (`python -m neosale_ci ... --airgap`) and tests
use this: the module's own defaults stay the official images.
"""

from __future__ import annotations

import os
from pathlib import Path

from .env import REPO_ROOT
from .manifest import load_manifest
from .trivy import db_cache_dir

MANIFEST = REPO_ROOT / "airgap" / "images.toml"

# Neosale constructor argument → image name in airgap/images.toml
MODULE_ARGS = {
    "node_image": "node",
    "trivy_image": "trivy",
    "hadolint_image": "hadolint",
    "postgres_image": "postgres",
    "redis_image": "redis",
    "nginx_image": "nginx",
    "python_image": "python",
    "playwright_image": "playwright",
    "registry_image": "registry",
}


def registry_addr() -> str:
    return os.environ.get("NEOSALE_REGISTRY_ADDR", "127.0.0.1:5000")


def module_images() -> dict[str, str]:
    """Keyword arguments for Neosale(...) naming the local stand-ins."""
    manifest = load_manifest(MANIFEST)
    return {arg: manifest.ref(name, registry_addr()) for arg, name in MODULE_ARGS.items()}


def trivy_db_cache() -> Path:
    """Trivy's cache dir holding the locally built DB (airgap/trivy/build.sh db)."""
    path = db_cache_dir()
    if not (path / "db" / "trivy.db").is_file():
        raise FileNotFoundError(f"no Trivy DB at {path}/db/trivy.db: run `airgap/trivy/build.sh db` first")
    return path
