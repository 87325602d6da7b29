"""Workload tests: nginx router, compose files and the end-to-end journey."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import httpx
import pytest

from .support import Router, StubServer, render_router


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "e2e: starts the whole stack on loopback (scripts/stack-local.sh) and runs the Playwright suite",
    )


@pytest.fixture
def stubs() -> Iterator[dict[str, StubServer]]:
    servers = {
        "frontend-blue": StubServer("frontend-blue", "frontend"),
        "backend-blue": StubServer("backend-blue", "backend"),
        "frontend-green": StubServer("frontend-green", "frontend"),
        "backend-green": StubServer("backend-green", "backend"),
    }
    yield servers
    for server in servers.values():
        server.stop()


@pytest.fixture
def router(stubs: dict[str, StubServer]) -> Iterator[Router]:
    """A running nginx routing to the blue stubs."""
    r = render_router(stubs["frontend-blue"].addr, stubs["backend-blue"].addr)
    try:
        r.start()
        yield r
    finally:
        r.stop()
        shutil.rmtree(r.dir, ignore_errors=True)


@pytest.fixture
def client(router: Router) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=router.base_url, timeout=5, trust_env=False) as c:
        yield c
