"""Dockerfile.frontend and Dockerfile.backend: build, run hardened, leak nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest

from .helpers import (
    BuildMeta,
    BuiltImage,
    docker,
    host_port,
    inspect,
    layers_containing,
    wait_healthy,
    wait_http,
)

pytestmark = pytest.mark.docker

CONTAINERS = ("frontend_container", "backend_container")
PROBES = Path(__file__).parent / "probes"


@pytest.mark.parametrize("fixture", CONTAINERS)
def test_container_becomes_healthy(fixture: str, request: pytest.FixtureRequest) -> None:
    container: str = request.getfixturevalue(fixture)
    wait_healthy(container, timeout=120)


@pytest.mark.parametrize("fixture", CONTAINERS)
def test_runs_as_node_user_on_read_only_root(fixture: str, request: pytest.FixtureRequest) -> None:
    container: str = request.getfixturevalue(fixture)
    config = inspect(container)
    assert config["Config"]["User"] == "1000:1000"
    assert config["HostConfig"]["ReadonlyRootfs"] is True
    assert config["Config"]["Entrypoint"] in (None, [])
    assert docker("exec", container, "id", "-u").stdout.strip() == "1000"
    denied = docker("exec", container, "touch", "/app/probe", check=False)
    assert denied.returncode != 0
    assert "Read-only file system" in denied.stderr


def test_backend_version_reports_build_metadata(backend_container: str, build_meta: BuildMeta) -> None:
    base = f"http://127.0.0.1:{host_port(backend_container, 4000)}"
    status, body = wait_http(f"{base}/health")
    assert status == 200, body
    status, body = wait_http(f"{base}/version")
    assert status == 200, body
    assert json.loads(body) == {
        "sha": build_meta.git_sha,
        "buildTime": build_meta.build_time,
        "version": build_meta.app_version,
    }


def test_backend_ready_reports_missing_dependencies(backend_container: str) -> None:
    """Without PostgreSQL and Redis the process stays up and says what is missing."""
    base = f"http://127.0.0.1:{host_port(backend_container, 4000)}"
    status, body = wait_http(f"{base}/ready")
    assert status == 503, body
    assert set(json.loads(body)["failed"]) == {"database", "redis"}


def test_frontend_health_and_degraded_pages(frontend_container: str) -> None:
    base = f"http://127.0.0.1:{host_port(frontend_container, 3000)}"
    status, body = wait_http(f"{base}/api/health")
    assert status == 200, body
    assert json.loads(body) == {"status": "ok", "service": "neosale-frontend"}
    # Server rendering works on the read-only root even with the backend down.
    status, body = wait_http(f"{base}/")
    assert status == 200
    assert 'data-testid="products-unavailable"' in body


@pytest.mark.parametrize("app", ["frontend", "backend"])
def test_image_metadata(app: str, images: dict[str, BuiltImage], build_meta: BuildMeta) -> None:
    config = inspect(images[app].tag)["Config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.revision"] == build_meta.git_sha
    assert labels["org.opencontainers.image.created"] == build_meta.build_time
    assert labels["org.opencontainers.image.version"] == build_meta.app_version
    assert labels["org.opencontainers.image.source"] == build_meta.source_url
    assert labels["org.opencontainers.image.title"] == f"neosale-{app}"
    assert "NEXT_TELEMETRY_DISABLED=1" in config["Env"] or app == "backend"
    health = " ".join(config["Healthcheck"]["Test"])
    assert health.startswith("CMD node -e")
    assert "curl" not in health
    assert "wget" not in health


@pytest.mark.parametrize("app", ["frontend", "backend"])
def test_build_secret_is_in_no_layer(
    app: str, images: dict[str, BuiltImage], fake_secret: str, tmp_path: Path
) -> None:
    tag = images[app].tag
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", tag).stdout
    config = docker("inspect", tag).stdout
    for where, text in (("docker history", history), ("docker inspect", config)):
        assert fake_secret not in text, f"build secret visible in {where}"
    env = inspect(tag)["Config"]["Env"]
    assert not [e for e in env if "/run/secrets" in e or e.startswith("NPM_CONFIG_USERCONFIG=")]
    assert layers_containing(tag, fake_secret.encode(), tmp_path) == []


def probe(image: str, name: str) -> dict[str, Any]:
    """Run probes/<name>.cjs with the image's node (script on stdin) and parse its JSON."""
    script = (PROBES / f"{name}.cjs").read_text()
    out = docker("run", "--rm", "-i", "--read-only", image, "node", "-", input=script).stdout
    return cast("dict[str, Any]", json.loads(out))


def test_backend_image_holds_production_files_only(images: dict[str, BuiltImage]) -> None:
    """No dev tooling; every runtime module the generated Prisma client imports is present."""
    found = probe(images["backend"].tag, "backend_contents")
    assert found["dev"] == []
    assert found["specs"], "no @prisma/client runtime import found in dist/generated/prisma"
    assert found["unresolved"] == []
    assert found["server"]
    assert found["migrate"]
    assert found["migrations"]
    assert found["sources"] is False


def test_frontend_image_holds_standalone_output_only(images: dict[str, BuiltImage]) -> None:
    found = probe(images["frontend"].tag, "frontend_contents")
    assert found == {"server": True, "static": True, "public": True, "dev": [], "sources": False}
