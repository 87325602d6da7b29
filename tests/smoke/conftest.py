"""A fake NEOSALE (nginx, frontend, backend) on loopback, and fast smoke configs for it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

import pytest

from neosale_smoke import DEFAULT_CHECKS, Kind, RetryPolicy, SmokeConfig

from .servers import SHA, FakeServer, backend_routes, frontend_routes, nginx_routes

# Short delays so retry tests take milliseconds; four attempts as a deploy would have.
FAST_RETRY = RetryPolicy(attempts=4, initial_delay_s=0.01, max_delay_s=0.05, total_s=10.0)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: runs against the real local stack from scripts/stack-local.sh")


@dataclass
class Stack:
    public: FakeServer
    frontend: FakeServer
    backend: FakeServer

    def config(self, checks: Mapping[str, Mapping[str, Any]] | None = None, **changes: Any) -> SmokeConfig:
        """A config for this stack; `checks` maps a check name to field changes."""
        specs = []
        for spec in DEFAULT_CHECKS:
            if spec.kind is Kind.LATENCY:
                spec = replace(spec, requests=5, warmup=1)
            specs.append(replace(spec, **(checks or {}).get(spec.name, {})))
        values: dict[str, Any] = {
            "base_url": self.public.url,
            "frontend_url": self.frontend.url,
            "backend_url": self.backend.url,
            "expect_sha": SHA,
            "timeout_s": 2.0,
            "retry": FAST_RETRY,
            "checks": tuple(specs),
        }
        values.update(changes)
        return SmokeConfig(**values)


@pytest.fixture
def stack() -> Iterator[Stack]:
    backend = FakeServer(backend_routes())
    frontend = FakeServer(frontend_routes())
    with backend, frontend, FakeServer(nginx_routes(frontend, backend)) as public:
        yield Stack(public, frontend, backend)
