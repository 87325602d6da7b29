"""The deployer with the real NEOSALE images and its default settings.

Both app images (built from this checkout) go to the local registry, a
PostgreSQL and a Redis run on the target's network, and `python -m
neosale_deploy deploy` runs as an operator would: default smoke (the project's
neosale_smoke runner), the repository's nginx configuration on the router.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from .helpers import BuiltImage, docker, free_port

REGISTRY = "127.0.0.1:5000"
NGINX_IMAGE = f"{REGISTRY}/offline/nginx:1.22"
POSTGRES_IMAGE = f"{REGISTRY}/offline/postgres:15"
REDIS_IMAGE = f"{REGISTRY}/offline/redis:7"


@dataclass(frozen=True)
class Target:
    project: str
    config: Path
    env_file: Path
    live_url: str
    preview_url: str


def _push(image: BuiltImage, project: str) -> str:
    """The image in the local registry, as repository@digest."""
    repo = f"{REGISTRY}/{project}/{image.app}"
    docker("tag", image.tag, f"{repo}:deploy")
    docker("push", f"{repo}:deploy", timeout=600)
    digests = docker("image", "inspect", "-f", "{{json .RepoDigests}}", f"{repo}:deploy").stdout
    digest = next(d for d in json.loads(digests) if d.startswith(repo + "@"))
    return str(digest)


@pytest.fixture
def target(tmp_path: Path, images: dict[str, BuiltImage]) -> Iterator[Target]:
    project = f"nsreal-{secrets.token_hex(3)}"
    password = secrets.token_hex(12)
    docker("network", "create", project)
    pg, redis = f"{project}-postgres", f"{project}-redis"
    try:
        docker(
            "run",
            "-d",
            "--name",
            pg,
            "--network",
            project,
            "-e",
            "POSTGRES_USER=neosale",
            "-e",
            f"POSTGRES_PASSWORD={password}",
            "-e",
            "POSTGRES_DB=neosale",
            POSTGRES_IMAGE,
            timeout=300,
        )
        docker("run", "-d", "--name", redis, "--network", project, REDIS_IMAGE, timeout=300)
        env_file = tmp_path / "app.env"
        env_file.write_text(
            f"backend:DATABASE_URL=postgresql://neosale:{password}@{pg}:5432/neosale\n"
            f"backend:REDIS_URL=redis://{redis}:6379\n"
        )
        live, preview = free_port(), free_port()
        config = tmp_path / "target.toml"
        config.write_text(
            f'project = "{project}"\nrouter_image = "{NGINX_IMAGE}"\nrouter_port = {live}\n'
            f'preview_port = {preview}\nrouter_bind = "127.0.0.1"\n'
        )
        yield Target(project, config, env_file, f"http://127.0.0.1:{live}", f"http://127.0.0.1:{preview}")
    finally:
        ids = docker("ps", "-aq", "--filter", f"label=dev.neosale.deploy.project={project}").stdout.split()
        docker("rm", "-f", pg, redis, *ids, check=False)
        vols = docker("volume", "ls", "-q", "--filter", f"label=dev.neosale.deploy.project={project}").stdout
        docker("volume", "rm", "-f", *vols.split(), check=False)
        docker("network", "rm", project, check=False)


def _deploy(t: Target, backend: str, frontend: str) -> subprocess.CompletedProcess[str]:
    argv = [
        sys.executable,
        "-m",
        "neosale_deploy",
        "deploy",
        "--config",
        str(t.config),
        "--env-file",
        str(t.env_file),
        "--backend",
        backend,
        "--frontend",
        frontend,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.docker
def test_real_images_deploy_with_default_smoke_behind_the_repo_router(
    target: Target, images: dict[str, BuiltImage]
) -> None:
    refs = {app: _push(image, target.project) for app, image in images.items()}
    done = _deploy(target, refs["backend"], refs["frontend"])
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "phase smoke: done" in out, out
    assert "neosale_smoke" in out, out

    with httpx.Client(base_url=target.live_url, timeout=10) as live:
        health = live.get("/api/health")  # the repo's mapping: /api/health -> backend /health
        assert health.status_code == 200, health.text
        assert health.headers["server"] == "nginx", "server_tokens off: no version"
        assert health.headers["x-content-type-options"] == "nosniff"
        assert live.get("/").status_code == 200
        # The deployer's own endpoints are on the private preview port only.
        assert "live=" not in live.get("/__neosale/router").text
        assert live.post("/api/leads", content=b"x" * 300_000).status_code == 413  # body limit
        codes = [live.get("/api/products").status_code for _ in range(40)]
        assert 429 in codes, "the per-client API rate limit is on"
    marker = httpx.get(f"{target.preview_url}/__neosale/router", timeout=5)
    assert marker.status_code == 200
    assert "live=blue" in marker.text
    logs = docker("logs", f"{target.project}-router").stdout
    assert '"path":"/api/products"' in logs, "the repo's JSON access log"
