"""The smoke runner against the real stack (nginx, Next.js, Express, PostgreSQL, Redis) on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from neosale_smoke import Kind, Outcome, RetryOverride, load_config, run_smoke_sync

pytestmark = pytest.mark.e2e

STACK_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "stack-local.sh"
# The backend reads GIT_SHA from its environment, which stack-local.sh passes through.
DEPLOYED_SHA = "5e2a0c4f9b7d1e3a6c8b0d2f4e6a8c0b2d4f6a81"
# Its own directory and ports, so a developer's stack on the defaults is left alone.
STACK_DIR = "/tmp/neosale-smoke-e2e"


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


@pytest.fixture(scope="module")
def local_stack() -> Iterator[dict[str, str]]:
    nginx, frontend, backend, pg, redis = _free_ports(5)
    env = {
        **os.environ,
        "NEOSALE_STACK_DIR": STACK_DIR,
        "NEOSALE_NGINX_PORT": str(nginx),
        "NEOSALE_FRONTEND_PORT": str(frontend),
        "NEOSALE_BACKEND_PORT": str(backend),
        "NEOSALE_PG_PORT": str(pg),
        "NEOSALE_REDIS_PORT": str(redis),
        "GIT_SHA": DEPLOYED_SHA,
    }
    try:
        start = subprocess.run(
            [str(STACK_SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=900
        )
        if start.returncode != 0:
            pytest.fail(f"stack-local.sh start failed ({start.returncode}):\n{start.stderr[-4000:]}")
        exports = dict(
            line.removeprefix("export ").split("=", 1)
            for line in start.stdout.splitlines()
            if line.startswith("export ")
        )
        yield {
            "base_url": exports["BASE_URL"],
            "frontend_url": f"http://127.0.0.1:{frontend}",
            "backend_url": f"http://127.0.0.1:{backend}",
        }
    finally:
        subprocess.run([str(STACK_SCRIPT), "stop"], env=env, capture_output=True, timeout=300)


def test_smoke_passes_against_the_real_stack(local_stack: dict[str, str], tmp_path: Path) -> None:
    urls = [f"--{key.replace('_', '-')}={value}" for key, value in local_stack.items()]
    cmd = [sys.executable, "-m", "neosale_smoke", *urls, "--expect-sha", DEPLOYED_SHA]
    run = subprocess.run(
        [*cmd, "--json", str(tmp_path / "smoke.json")], capture_output=True, text=True, timeout=300
    )

    assert run.returncode == 0, run.stdout + run.stderr
    data = json.loads((tmp_path / "smoke.json").read_text())
    assert data["summary"] == {"passed": 9, "failed": 0, "skipped": 0}
    static = next(c for c in data["checks"] if c["name"] == "static_asset")
    assert "/_next/static/" in static["url"]


def test_smoke_catches_a_stale_revision_on_the_real_stack(local_stack: dict[str, str]) -> None:
    config = load_config(
        base_url=local_stack["base_url"],
        frontend_url=local_stack["frontend_url"],
        backend_url=local_stack["backend_url"],
        expect_sha="0" * 40,
    )
    once = RetryOverride(attempts=1)
    config = replace(
        config, checks=tuple(replace(c, retry=once) if c.kind is Kind.VERSION else c for c in config.checks)
    )

    report = run_smoke_sync(config)

    assert [c.name for c in report.failures] == ["backend_version"]
    check = report.check("backend_version")
    assert check.outcome is Outcome.FAILED
    assert f"expected sha '{'0' * 40}', got '{DEPLOYED_SHA}'" in check.reason
