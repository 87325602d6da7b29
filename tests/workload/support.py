"""Helpers for the workload tests: stub upstreams and Debian's nginx running the
repository's nginx/ config (rendered by scripts/nginx-local-conf.sh) on loopback."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def world_traversable_tmpdir(prefix: str) -> Path:
    """A fresh dir under /tmp that nginx workers (user nobody) can enter; pytest's tmp_path cannot."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


# ---- stub upstreams -----------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]


class StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind  # "frontend" answers HTML, "backend" JSON
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _StubHandler)
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def hits(self) -> int:
        with self.lock:
            return len(self.seen)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _StubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: StubServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        stub = self.server
        with stub.lock:
            stub.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        # Bodies above nginx's gzip_min_length, so compression is observable.
        padding = "x" * 4096
        if stub.kind == "frontend":
            body = f"<!doctype html><html><body><h1>{stub.name}</h1><!-- {padding} --></body></html>".encode()
            ctype = "text/html; charset=utf-8"
        else:
            body = json.dumps({"service": stub.name, "path": self.path, "padding": padding}).encode()
            ctype = "application/json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Stub", stub.name)
        # The apps send these too; nginx must not let duplicates through.
        self.send_header("X-Frame-Options", "SAMEORIGIN")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer
    do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


# ---- nginx ----------------------------------------------------------------------


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    return found


@dataclass
class Router:
    """The repo's nginx config rendered into `dir`, optionally running on `port`."""

    dir: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.dir / "logs" / "nginx.out"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.dir / "nginx"), *args], capture_output=True, text=True, timeout=30)

    def write_upstreams(self, frontend: str, backend: str) -> None:
        """What a blue-green switch does: replace conf.d/upstream.conf atomically."""
        text = (REPO / "nginx" / "conf.d" / "upstream.conf").read_text()
        text = text.replace("server frontend:3000", f"server {frontend}").replace(
            "server backend:4000", f"server {backend}"
        )
        target = self.dir / "conf.d" / "upstream.conf"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, target)

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen([str(self.dir / "nginx")], stdout=out, stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"nginx exited: {self.errors()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1, trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        pytest.fail(f"nginx did not answer /health: {self.errors()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def errors(self) -> str:
        parts = [
            p.read_text(errors="replace")[-3000:]
            for p in (self.log, self.dir / "logs" / "error.log")
            if p.exists()
        ]
        return "\n".join(parts)


def render_router(frontend: str, backend: str) -> Router:
    nginx_binary()
    path = world_traversable_tmpdir("neosale-nginx-")
    port = free_port()
    subprocess.run(
        [str(REPO / "scripts" / "nginx-local-conf.sh"), str(path), f"127.0.0.1:{port}", frontend, backend],
        check=True,
        timeout=30,
    )
    return Router(dir=path, port=port)
