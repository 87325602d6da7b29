"""The whole stack on loopback (scripts/stack-local.sh) under the Playwright suite in e2e/."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import REPO, free_port, world_traversable_tmpdir

E2E = REPO / "e2e"
STACK = REPO / "scripts" / "stack-local.sh"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")

pytestmark = pytest.mark.e2e


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="module")
def stack() -> Iterator[str]:
    for tool in ("node", "npm", "npx", "curl", "nginx", "redis-server"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            pytest.skip(f"{tool} is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")

    state = world_traversable_tmpdir("neosale-stack-")
    # Own ports and state: a developer's running stack or services are left alone.
    env = {
        **os.environ,
        "NEOSALE_STACK_DIR": str(state),
        "NEOSALE_NGINX_PORT": str(free_port()),
        "NEOSALE_FRONTEND_PORT": str(free_port()),
        "NEOSALE_BACKEND_PORT": str(free_port()),
        "NEOSALE_PG_PORT": str(free_port()),
        "NEOSALE_REDIS_PORT": str(free_port()),
    }
    try:
        # Generous: a fresh clone first runs npm ci and both builds.
        started = subprocess.run([str(STACK), "start"], env=env, capture_output=True, text=True, timeout=1500)
        assert started.returncode == 0, f"stack-local.sh start failed:\n{tail(started.stderr)}"
        match = re.search(r"^export BASE_URL=(\S+)$", started.stdout, re.M)
        assert match, started.stdout
        yield match[1]
    finally:
        subprocess.run([str(STACK), "stop"], env=env, capture_output=True, timeout=180)
        shutil.rmtree(state, ignore_errors=True)


def test_playwright_journey(stack: str) -> None:
    env = {
        **os.environ,
        "BASE_URL": stack,
        "CHROMIUM_PATH": CHROMIUM,
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
    }
    if not (E2E / "node_modules" / "@playwright" / "test").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=E2E, env=env, check=True, timeout=600)
    junit = E2E / "reports" / "junit.xml"
    junit.unlink(missing_ok=True)

    run = subprocess.run(
        ["npx", "--no-install", "playwright", "test"],
        cwd=E2E,
        env={**env, "CI": "1"},
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, f"playwright failed:\n{tail(run.stdout)}\n{tail(run.stderr, 20)}"

    suites = ET.parse(junit).getroot()  # noqa: S314 - our own report
    assert int(suites.get("tests", "0")) >= 4
    assert suites.get("failures") == "0"
    assert suites.get("errors", "0") == "0"
