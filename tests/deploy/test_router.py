"""The router serves what its upstream.conf's servers say; a hand edit is reported, never overrun."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from neosale_deploy.routerconf import CONF_DIR, UPSTREAM

from .helpers import Env, live_versions

pytestmark = pytest.mark.docker


def _edit_upstream(docker_client: Any, env: Env, script: str) -> None:
    router = docker_client.containers.get(f"{env.project}-router")
    code, out = router.exec_run(["sh", "-c", f"cd {CONF_DIR} && {script} && nginx -s reload"])
    assert code == 0, out


def _wait_serving(env: Env, version: str, timeout: float = 10.0) -> None:
    """Until the live port answers only `version` (the old workers of a reload drain first)."""
    deadline = time.monotonic() + timeout
    while (seen := live_versions(env.live_url, n=5)) != {version}:
        assert time.monotonic() < deadline, f"live port still answers {seen}"
        time.sleep(0.2)


def _ids(docker_client: Any, env: Env, colour: str) -> set[str]:
    label = f"dev.neosale.deploy.colour={colour}"
    filters = {"label": [label, f"dev.neosale.deploy.project={env.project}"]}
    return {c.id for c in docker_client.containers.list(filters=filters)}


def test_a_hand_edited_upstream_is_reported_and_what_it_serves_stays_live(
    env: Env, docker_client: Any
) -> None:
    assert env.deploy("v1").returncode == 0
    assert env.deploy("v2").returncode == 0  # green live (v2), blue warm (v1)
    # An operator points the live servers back at blue by hand, header left as it was.
    _edit_upstream(docker_client, env, f"sed -i 's/-green-/-blue-/' {UPSTREAM}")
    _wait_serving(env, "v1")

    status = env.cli("status")
    assert status.returncode == 0, status.stderr
    assert "live    blue" in status.stdout
    assert "WARNING upstream.conf was edited by hand" in status.stdout
    assert "run reconcile" in status.stdout

    serving = _ids(docker_client, env, "blue")
    out = env.deploy("v2")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "edited by hand" in out.stdout
    assert _ids(docker_client, env, "blue") == serving, "the containers that were serving were not replaced"
    assert live_versions(env.live_url) == {"v2"}


def test_an_upstream_without_its_header_still_reads_and_reconciles(env: Env, docker_client: Any) -> None:
    assert env.deploy("v1").returncode == 0
    _edit_upstream(docker_client, env, f"sed -i '/^# neosale-deploy /d' {UPSTREAM}")
    status = env.cli("status")
    assert status.returncode == 0, status.stderr
    assert "live    blue" in status.stdout
    assert "no neosale-deploy header" in status.stdout
    out = env.cli("reconcile")
    assert out.returncode == 0, out.stdout + out.stderr
    status = env.cli("status")
    assert "WARNING" not in status.stdout
    assert live_versions(env.live_url) == {"v1"}


def test_the_live_port_serves_the_repo_routes_and_nothing_of_the_deployer(env: Env) -> None:
    assert env.deploy("v1").returncode == 0
    live = httpx.get(f"{env.live_url}/api/health", timeout=5)
    assert live.json()["path"] == "/health", "the repo's mapping of /api/health"
    assert live.headers["server"] == "nginx"
    assert "x-neosale-colour" not in live.headers
    assert httpx.get(f"{env.live_url}/__neosale/router", timeout=5).json()["path"] == "/__neosale/router"
    marker = httpx.get(f"{env.preview_url}/__neosale/router", timeout=5)
    assert marker.text.startswith("live=blue preview=green")
