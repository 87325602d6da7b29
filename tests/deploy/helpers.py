"""Test images, per-test targets, the deployer CLI and a bounded load generator."""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from neosale_airgap.env import REPO_ROOT
from neosale_deploy import dockerhost as dh
from neosale_deploy.model import LABEL_PROJECT, LABEL_ROLE

APP_DIR = Path(__file__).parent / "app"
REGISTRY = os.environ.get("NEOSALE_TEST_REGISTRY", "127.0.0.1:5000")
NODE_IMAGE = os.environ.get("NEOSALE_TEST_NODE_IMAGE", f"{REGISTRY}/offline/node:22")
POSTGRES_IMAGE = os.environ.get("NEOSALE_TEST_POSTGRES_IMAGE", f"{REGISTRY}/offline/postgres:15")
REDIS_IMAGE = os.environ.get("NEOSALE_TEST_REDIS_IMAGE", f"{REGISTRY}/offline/redis:7")
NGINX_IMAGE = os.environ.get("NEOSALE_TEST_NGINX_IMAGE", f"{REGISTRY}/offline/nginx:1.22")
# version -> FAIL_READY: v3 passes preview and fails behind the live port, v4 fails everywhere.
VERSIONS = {"v1": "", "v2": "", "v3": "live", "v4": "always"}


def revision(version: str) -> str:
    """The commit a test image claims to be built from (its revision label)."""
    return hashlib.sha256(version.encode()).hexdigest()[:40]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_app_images(client: Any) -> dict[str, str]:
    """Build and push the test app per version; returns version -> repo@sha256 digest."""
    dh.ensure_image(client, NODE_IMAGE, "node base image")
    refs: dict[str, str] = {}
    repo = f"{REGISTRY}/neosale-test/app"
    for version, fail in VERSIONS.items():
        client.images.build(
            path=str(APP_DIR),
            tag=f"{repo}:{version}",
            buildargs={
                "BASE": NODE_IMAGE,
                "VERSION": version,
                "FAIL_READY": fail,
                "REVISION": revision(version),
            },
            rm=True,
        )
        for line in client.images.push(repo, tag=version, stream=True, decode=True):
            if "error" in line:
                raise RuntimeError(f"push {repo}:{version}: {line['error']}")
        digests = client.images.get(f"{repo}:{version}").attrs["RepoDigests"]
        digest = next(d for d in digests if d.startswith(repo + "@")).split("@", 1)[1]
        refs[version] = f"{repo}@{digest}"
    return refs


@dataclass
class Env:
    """One throwaway target: its project, ports and the CLI bound to its config."""

    project: str
    config: Path
    router_port: int
    preview_port: int
    images: dict[str, str]

    @property
    def live_url(self) -> str:
        return f"http://127.0.0.1:{self.router_port}"

    @property
    def preview_url(self) -> str:
        return f"http://127.0.0.1:{self.preview_port}"

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            cli_argv(self, *args), capture_output=True, text=True, timeout=timeout, check=False
        )

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            cli_argv(self, *args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )

    def deploy(self, version: str, *extra: str) -> subprocess.CompletedProcess[str]:
        ref = self.images[version]
        return self.cli("deploy", "--backend", ref, "--frontend", ref, *extra)


def cli_argv(env: Env, *args: str) -> list[str]:
    command, rest = args[0], list(args[1:])
    return [sys.executable, "-m", "neosale_deploy", command, "--config", str(env.config), *rest]


def write_config(path: Path, project: str, router_port: int, preview_port: int, **extra: str) -> None:
    lines = [
        f'project = "{project}"',
        f'router_image = "{NGINX_IMAGE}"',
        f"router_port = {router_port}",
        f"preview_port = {preview_port}",
        'router_bind = "127.0.0.1"',
        'preview_bind = "127.0.0.1"',
        "retain_seconds = 600",
        "health_timeout = 60",
        "verify_seconds = 1.5",
        "stop_timeout = 2",
        # The test app is no NEOSALE: the project's smoke checks would fail it.
        'smoke = "builtin"',
        *(f"{k} = {v}" for k, v in extra.items()),
    ]
    path.write_text("\n".join(lines) + "\n")


def new_env(tmp: Path, images: dict[str, str], **extra: str) -> Env:
    project = f"nsdt-{secrets.token_hex(3)}"
    rp, pp = free_port(), free_port()
    cfg = tmp / "target.toml"
    write_config(cfg, project, rp, pp, **extra)
    return Env(project, cfg, rp, pp, images)


def project_containers(client: Any, project: str) -> list[Any]:
    return list(client.containers.list(all=True, filters={"label": f"{LABEL_PROJECT}={project}"}))


def cleanup(client: Any, project: str) -> None:
    for c in project_containers(client, project):
        dh.remove(c)
    for v in client.volumes.list(filters={"label": f"{LABEL_PROJECT}={project}"}):
        v.remove(force=True)
    for n in client.networks.list(names=[project]):
        n.remove()


def live_versions(url: str, n: int = 20) -> set[str]:
    out = set()
    for _ in range(n):
        r = httpx.get(url + "/", headers={"Connection": "close"}, timeout=5)
        out.add(r.json()["version"])
    return out


@dataclass
class Sample:
    start: float
    end: float
    status: int | None
    version: str
    error: str = ""
    # Sent again on a new connection: nginx closed the kept-alive one first.
    resent: bool = False


@dataclass
class LoadGen:
    """Steady GETs through the router: even-numbered threads open a fresh
    connection per request, odd ones keep theirs alive (a reload must drop
    neither kind).

    The path is one the router's per-client request limit leaves open (the
    health route): the load comes from one address and the limit stays on.
    """

    url: str
    path: str = "/api/health"
    total: int = 6000
    rate: float = 250.0
    threads: int = 8
    samples: list[Sample] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)

    def _work(self, index: int) -> None:
        interval = self.threads / self.rate
        next_at = time.monotonic() + index * interval / self.threads
        headers = {"Connection": "keep-alive" if index % 2 else "close"}
        with httpx.Client(timeout=10, headers=headers) as client:
            while not self._stop.is_set():
                with self._lock:
                    if len(self.samples) >= self.total:
                        return
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                next_at += interval
                s = self._one(client)
                with self._lock:
                    self.samples.append(s)

    def _one(self, client: httpx.Client) -> Sample:
        start, resent = time.monotonic(), False
        try:
            try:
                r = client.get(self.url + self.path)
            except (httpx.RemoteProtocolError, httpx.ReadError):
                # A reload closes the old workers' idle connections, kept-alive ones
                # and ones accepted but not read yet; a request already on its way
                # meets the close (or, with its bytes unread, a reset) with no
                # answer. HTTP/1.1 clients send an idempotent request again on a new
                # connection (RFC 9112, 9.3.1): so does this one, once, and counts it.
                resent = True
                r = client.get(self.url + self.path)
            return Sample(start, time.monotonic(), r.status_code, r.json().get("version", "?"), resent=resent)
        except (httpx.HTTPError, ValueError) as exc:
            return Sample(start, time.monotonic(), None, "", f"{type(exc).__name__}: {exc}", resent)

    def start(self) -> LoadGen:
        self._workers = [
            threading.Thread(target=self._work, args=(i,), daemon=True) for i in range(self.threads)
        ]
        for w in self._workers:
            w.start()
        return self

    def wait(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        for w in self._workers:
            w.join(max(0.0, deadline - time.monotonic()))
        self._stop.set()

    def stop(self, timeout: float = 15) -> None:
        """End an open-ended run now (before `total`) once the requests in flight are answered."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for w in self._workers:
            w.join(max(0.0, deadline - time.monotonic()))

    def failures(self) -> list[Sample]:
        return [s for s in self.samples if s.status != 200]

    def resent(self) -> int:
        return sum(s.resent for s in self.samples)

    def check(self, minimum: int, rate: float = 200.0) -> None:
        """At least `minimum` requests at `rate` or more, none failed (a request sent
        again after its connection was closed under it counts once; at most 1% were)."""
        print(f"load: {len(self.samples)} requests at {self.rps():.0f} req/s, {self.resent()} sent again")
        assert len(self.samples) >= minimum, f"{len(self.samples)} requests, expected >= {minimum}"
        assert self.rps() >= rate, f"achieved {self.rps():.0f} req/s, expected >= {rate:.0f}"
        assert not self.failures(), self.failures()[:5]
        # A reload may close connections in flight, never a share of the traffic.
        assert self.resent() <= len(self.samples) // 100, f"{self.resent()} requests had to be sent again"

    def rps(self) -> float:
        if len(self.samples) < 2:
            return 0.0
        span = max(s.end for s in self.samples) - min(s.start for s in self.samples)
        return len(self.samples) / span if span else 0.0

    def versions_after(self, t: float) -> set[str]:
        return {s.version for s in self.samples if s.start >= t}

    def last_start_of(self, version: str) -> float | None:
        starts = [s.start for s in self.samples if s.version == version]
        return max(starts) if starts else None


def phase_lines(out: str) -> Iterator[str]:
    return (line for line in out.splitlines() if "phase " in line)


def ensure_dockerd() -> None:
    script = REPO_ROOT / "scripts" / "dockerd.sh"
    if script.exists():
        subprocess.run(["bash", str(script), "start"], check=True, capture_output=True)


def start_postgres(client: Any, env: Env) -> tuple[Any, str]:
    """A database on the project's network, ready; the container and its URL."""
    client.networks.create(env.project, labels={LABEL_PROJECT: env.project})
    pg = client.containers.run(
        POSTGRES_IMAGE,
        name=f"{env.project}-postgres",
        environment={"POSTGRES_PASSWORD": "pw", "POSTGRES_DB": "neosale"},
        network=env.project,
        labels={LABEL_PROJECT: env.project, LABEL_ROLE: "postgres"},
        detach=True,
    )
    deadline = time.monotonic() + 60
    while pg.exec_run(["pg_isready", "-U", "postgres", "-d", "neosale", "-h", "127.0.0.1"])[0] != 0:
        assert time.monotonic() < deadline, pg.logs()[-2000:]
        time.sleep(0.5)
    return pg, f"postgres://postgres:pw@{env.project}-postgres:5432/neosale"
