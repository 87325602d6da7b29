"""`dagger call stack up` serves NEOSALE on localhost.

The delivery workflow's staging smoke and E2E calls need a staging host
that the engine's containers reach by its URL; module functions get no
tunnel to the caller's loopback, so a stack on localhost cannot stand in
for it, and the call says so."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from neosale_airgap.env import REPO_ROOT
from tests.cli.conftest import Dagger
from tests.cli.test_run import EXPRESSIONS, HEAD, fill, step_args

pytestmark = pytest.mark.engine

PORT = 8080
URL = f"http://localhost:{PORT}"


def _wait_until_up(proc: subprocess.Popen[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"`dagger call stack up` exited {proc.returncode} before serving")
        try:
            if httpx.get(f"{URL}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(2)
    raise AssertionError(f"nothing answered on {URL}/api/health within {timeout:.0f}s")


@pytest.fixture(scope="module")
def stack(cli_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stack of this commit (its images labelled with HEAD), up until the module's tests end."""
    log = tmp_path_factory.mktemp("stack") / "stack-up.log"
    cli = Path(cli_env["NEOSALE_PREFIX"]) / "bin" / "dagger"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(cli), "--progress", "plain", "call", "stack", "--sha", HEAD, "up"],
            cwd=REPO_ROOT,
            env=cli_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    try:
        _wait_until_up(proc, timeout=900)
        yield URL
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C, as a user stops it
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    with pytest.raises(httpx.HTTPError):
        httpx.get(URL, timeout=2)  # stopped: nothing listens any more


def test_stack_up_serves_neosale_on_localhost(stack: str) -> None:
    health = httpx.get(f"{stack}/api/health", timeout=10)
    assert health.status_code == 200
    page = httpx.get(f"{stack}/", timeout=30)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]


def test_a_loopback_url_is_refused_by_name(stack: str, dagger: Dagger) -> None:
    values = {**EXPRESSIONS, "vars.STAGING_URL": stack}
    argv = fill(step_args("delivery.yml", "staging", "Smoke (live)"), values)
    res = dagger("call", *argv)
    assert res.returncode != 0
    assert "port(s) 8080 of this machine's loopback cannot be reached from a module function" in res.stderr
