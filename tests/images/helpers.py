"""Thin wrappers around Debian's docker client for the image tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

REPO_ROOT = Path(__file__).resolve().parents[2]
DOCKERD_SH = REPO_ROOT / "scripts" / "dockerd.sh"
# Debian's 20.10 client runs BuildKit builds itself; /usr/local/bin/docker
# (v28) would need the missing buildx plugin.
DOCKER = os.environ.get("NEOSALE_DOCKER", "/usr/bin/docker")
NODE_IMAGE = os.environ.get("NEOSALE_NODE_IMAGE", "127.0.0.1:5000/offline/node:22")
# PEM bundle handed to `npm ci` as the `ca` build secret (TLS-intercepting proxy).
CA_BUNDLE = os.environ.get("NEOSALE_BUILD_CA", "/etc/ssl/certs/ca-certificates.crt")
BUILD_TIMEOUT = int(os.environ.get("NEOSALE_IMAGE_BUILD_TIMEOUT", "2400"))


@dataclass(frozen=True)
class BuildMeta:
    git_sha: str
    build_time: str
    app_version: str
    source_url: str

    def build_args(self) -> dict[str, str]:
        return {
            "GIT_SHA": self.git_sha,
            "BUILD_TIME": self.build_time,
            "APP_VERSION": self.app_version,
            "SOURCE_URL": self.source_url,
        }


@dataclass(frozen=True)
class BuiltImage:
    app: str
    tag: str
    seconds: float
    size: int


def docker(
    *args: str, check: bool = True, timeout: float = 120, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the docker client; on failure the assertion carries its output."""
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    res = subprocess.run(
        [DOCKER, *args], capture_output=True, text=True, timeout=timeout, env=env, input=input
    )
    if check and res.returncode != 0:
        raise AssertionError(
            f"docker {' '.join(args)} exited {res.returncode}\n--- stdout\n{res.stdout[-4000:]}"
            f"\n--- stderr\n{res.stderr[-4000:]}"
        )
    return res


def inspect(obj: str) -> dict[str, Any]:
    return cast("dict[str, Any]", json.loads(docker("inspect", obj).stdout)[0])


def build_image(
    app: str, tag: str, meta: BuildMeta, secrets: dict[str, Path], node_image: str = NODE_IMAGE
) -> BuiltImage:
    args = ["build", "--progress=plain", "-f", f"Dockerfile.{app}", "-t", tag]
    args += ["--build-arg", f"NODE_IMAGE={node_image}"]
    for key, value in meta.build_args().items():
        args += ["--build-arg", f"{key}={value}"]
    for key, path in secrets.items():
        args += ["--secret", f"id={key},src={path}"]
    args.append(str(REPO_ROOT))
    start = time.monotonic()
    docker(*args, timeout=BUILD_TIMEOUT)
    seconds = time.monotonic() - start
    size = int(docker("image", "inspect", "-f", "{{.Size}}", tag).stdout.strip())
    return BuiltImage(app=app, tag=tag, seconds=seconds, size=size)


def logs(container: str) -> str:
    res = docker("logs", "--tail", "60", container, check=False)
    return res.stdout + res.stderr


def wait_healthy(container: str, timeout: float = 120) -> None:
    """Wait for Docker's own HEALTHCHECK verdict; fail with the logs otherwise."""
    deadline = time.monotonic() + timeout
    status = "unknown"
    while time.monotonic() < deadline:
        state = inspect(container)["State"]
        status = state.get("Health", {}).get("Status", "none")
        if status == "healthy":
            return
        if not state.get("Running"):
            break
        time.sleep(1)
    raise AssertionError(f"{container} is {status!r}, not healthy\n--- logs\n{logs(container)}")


def host_port(container: str, port: int) -> int:
    out = docker("port", container, f"{port}/tcp").stdout.strip().splitlines()[0]
    return int(out.rsplit(":", 1)[1])


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - http on loopback
            return int(resp.status), resp.read().decode()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read().decode()


def wait_http(url: str, timeout: float = 60) -> tuple[int, str]:
    """First answer from `url`, retrying while the server is still starting."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            return http_get(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
            last = err
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {timeout}s: {last}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def layers_containing(image: str, needle: bytes, workdir: Path) -> list[str]:
    """Names of files, in any layer of `image`, whose bytes contain `needle`."""
    archive = workdir / "image.tar"
    docker("save", "-o", str(archive), image, timeout=600)
    hits: list[str] = []
    with tarfile.open(archive) as outer:
        for member in outer.getmembers():
            fh = outer.extractfile(member)
            if fh is None:
                continue
            if member.name.endswith("layer.tar"):
                with tarfile.open(fileobj=fh) as layer:
                    for entry in layer:
                        inner = layer.extractfile(entry) if entry.isfile() else None
                        if inner is not None and needle in inner.read():
                            hits.append(f"{member.name}:{entry.name}")
            elif needle in fh.read():
                hits.append(member.name)
    archive.unlink()
    return hits
