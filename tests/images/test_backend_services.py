"""The backend image against real PostgreSQL and Redis: migrations, readiness, queries."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from .helpers import REPO_ROOT, BuiltImage, docker, free_port, wait_healthy, wait_http

pytestmark = [pytest.mark.docker, pytest.mark.services]

TEST_SERVICES = REPO_ROOT / "scripts" / "test-services.sh"


@pytest.fixture(scope="module")
def services() -> Iterator[dict[str, str]]:
    """Private PostgreSQL and Redis on free ports, so shared instances are left alone."""
    # Under /tmp itself: PostgreSQL runs as `postgres` and cannot enter pytest's 0700 dirs.
    workdir = tempfile.mkdtemp(prefix="neosale-image-services-", dir="/tmp")
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "NEOSALE_SERVICES_DIR": workdir,
        "PGPORT": str(free_port()),
        "REDIS_PORT": str(free_port()),
    }
    res = subprocess.run([str(TEST_SERVICES), "start"], capture_output=True, text=True, env=env, timeout=180)
    if res.returncode != 0:
        pytest.fail(f"scripts/test-services.sh start failed:\n{res.stderr}", pytrace=False)
    urls = dict(
        line.removeprefix("export ").split("=", 1)
        for line in res.stdout.splitlines()
        if line.startswith("export ")
    )
    try:
        yield urls
    finally:
        subprocess.run([str(TEST_SERVICES), "stop"], capture_output=True, env=env, timeout=120, check=False)
        shutil.rmtree(workdir, ignore_errors=True)


def test_migrations_then_ready_and_catalogue(images: dict[str, BuiltImage], services: dict[str, str]) -> None:
    image = images["backend"].tag
    hardened = ["--read-only", "--cap-drop", "ALL", "--tmpfs", "/tmp", "--network", "host"]
    migrate = docker(
        "run",
        "--rm",
        *hardened,
        "-e",
        f"DATABASE_URL={services['DATABASE_URL']}",
        image,
        "node",
        "dist/migrate.js",
        timeout=180,
    )
    assert "applied" in migrate.stdout, migrate.stdout + migrate.stderr

    port = free_port()
    name = "neosale-test-backend-services"
    docker("rm", "-f", name, check=False)
    docker(
        "run",
        "-d",
        "--name",
        name,
        *hardened,
        "-e",
        f"PORT={port}",
        "-e",
        "HOST=127.0.0.1",
        "-e",
        f"DATABASE_URL={services['DATABASE_URL']}",
        "-e",
        f"REDIS_URL={services['REDIS_URL']}",
        "--init",
        image,
        # As docker-compose.yml runs it: migrations (now a no-op), then the server.
        "sh",
        "-c",
        "node dist/migrate.js && exec node dist/server.js",
    )
    try:
        wait_healthy(name, timeout=120)
        base = f"http://127.0.0.1:{port}"
        status, body = wait_http(f"{base}/ready")
        assert status == 200, body
        # A real query through the Prisma client left in the image.
        status, body = wait_http(f"{base}/api/products")
        assert status == 200, body
        assert json.loads(body)["items"], "seeded catalogue is empty"
    finally:
        docker("rm", "-f", name, check=False)
