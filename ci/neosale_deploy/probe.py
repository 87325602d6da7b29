"""HTTP probes through the router, and the seam to the smoke runner.

Every probe goes through the router's ports (live or preview), so it works the
same for a local socket and a remote host, and checks what users will reach.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import httpx

from neosale_deploy.model import App, Target


class Side(StrEnum):
    """Which colour a probe reaches: both are probed through the private preview port."""

    PREVIEW = "preview"
    LIVE = "live"


def probe_path(side: Side, role: str, name: str) -> str:
    """A health endpoint of one app of one side (see routerconf.render_preview)."""
    prefix = "/__neosale/live" if side is Side.LIVE else "/__neosale"
    return f"{prefix}/{role}/{name}"


@dataclass(frozen=True)
class Check:
    path: str
    status: int | None
    seconds: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def __str__(self) -> str:
        got = self.error or f"HTTP {self.status}"
        return f"{self.path} -> {got} ({self.seconds * 1000:.0f} ms)"


def get(base_url: str, path: str, timeout: float = 3.0) -> Check:
    start = time.monotonic()
    try:
        # A fresh connection each time: a kept-alive one could reach an old nginx worker.
        r = httpx.get(base_url + path, timeout=timeout, headers={"Connection": "close"})
    except httpx.HTTPError as exc:
        return Check(path, None, time.monotonic() - start, f"{type(exc).__name__}: {exc}")
    return Check(path, r.status_code, time.monotonic() - start)


def readiness_paths(target: Target, side: Side) -> list[str]:
    names = [(App.BACKEND, "health"), (App.FRONTEND, "health")]
    if target.roles[App.BACKEND].ready_path:
        names.insert(1, (App.BACKEND, "ready"))
    return [probe_path(side, role, name) for role, name in names]


def check_all(target: Target, side: Side) -> list[Check]:
    # In parallel: a rollback waits on these before it switches.
    paths = readiness_paths(target, side)
    with ThreadPoolExecutor(max_workers=len(paths)) as pool:
        return list(pool.map(lambda p: get(target.preview_url, p), paths))


@dataclass(frozen=True)
class SmokeResult:
    ok: bool
    detail: str


def builtin_smoke(target: Target, base_url: str, latency_budget: float = 2.0) -> SmokeResult:
    """A minimal smoke: health, readiness, version and the home page, each 2xx within the budget."""
    paths = readiness_paths(target, Side.PREVIEW)
    if target.roles[App.BACKEND].version_path:
        paths.append(probe_path(Side.PREVIEW, App.BACKEND, "version"))
    paths.append("/")
    checks = [get(base_url, p, timeout=latency_budget) for p in paths]
    bad = [c for c in checks if not c.ok or c.seconds > latency_budget]
    if bad:
        return SmokeResult(False, "; ".join(str(c) for c in bad))
    return SmokeResult(True, ", ".join(str(c) for c in checks))


def neosale_smoke(target: Target, base_url: str) -> SmokeResult | None:
    """The project's smoke runner on the preview port; None when it is not installed.

    The preview server passes /__neosale/backend/* and /__neosale/frontend/* to
    the idle colour's apps, which the runner takes as its backend and frontend URLs.
    """
    try:
        from neosale_smoke.config import ConfigError, load_config
        from neosale_smoke.runner import run_smoke_sync
    except ImportError:
        return None
    try:
        config = load_config(
            Path(target.smoke_config) if target.smoke_config else None,
            base_url=base_url,
            backend_url=f"{base_url}/__neosale/backend",
            frontend_url=f"{base_url}/__neosale/frontend",
        )
    except ConfigError as exc:
        return SmokeResult(False, f"smoke config: {exc}")
    report = run_smoke_sync(config)
    failed = "; ".join(f"{c.name}: {c.reason}" for c in report.failures)
    return SmokeResult(report.ok, failed or f"neosale_smoke: {len(report.checks)} checks, none failed")


def run_smoke(target: Target, base_url: str) -> SmokeResult:
    """The smoke gate on `base_url` (the preview port): see Target.smoke."""
    if not target.smoke_command:
        if target.smoke != "builtin":
            result = neosale_smoke(target, base_url)
            if result is not None:
                return result
            if target.smoke == "neosale_smoke":
                return SmokeResult(
                    False, "smoke = neosale_smoke, but the neosale_smoke package is not installed"
                )
        return builtin_smoke(target, base_url)
    argv = [a.replace("{url}", base_url) for a in target.smoke_command]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SmokeResult(False, f"{shlex.join(argv)}: {exc}")
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
    return SmokeResult(proc.returncode == 0, f"{shlex.join(argv)} exit {proc.returncode}: {' | '.join(tail)}")
