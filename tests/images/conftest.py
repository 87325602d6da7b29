"""Container image fixtures: the Docker daemon, the base image, both app images.

Nothing here skips: when Docker, the base image or a build is unavailable the
fixture fails and says why.
"""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .helpers import (
    CA_BUNDLE,
    DOCKERD_SH,
    NODE_IMAGE,
    BuildMeta,
    BuiltImage,
    build_image,
    docker,
)

APPS = ("frontend", "backend")
_built: dict[str, BuiltImage] = {}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "docker: builds and runs container images on Debian's dockerd (scripts/dockerd.sh)"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _built:
        return
    terminalreporter.section("container images")
    for image in _built.values():
        terminalreporter.write_line(
            f"{image.tag}: built in {image.seconds:.0f}s, {image.size / 1e6:.0f} MB (base {NODE_IMAGE})"
        )


@pytest.fixture(scope="session")
def docker_daemon() -> None:
    """Start Debian's dockerd through scripts/dockerd.sh, or reuse the running one."""
    try:
        res = subprocess.run([str(DOCKERD_SH), "start"], capture_output=True, text=True, timeout=180)
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.fail(f"scripts/dockerd.sh start failed: {err}", pytrace=False)
    if res.returncode != 0:
        pytest.fail(f"scripts/dockerd.sh start exited {res.returncode}:\n{res.stderr}", pytrace=False)
    info = docker("info", "--format", "{{.ServerVersion}}", check=False)
    if info.returncode != 0:
        pytest.fail(f"docker info does not answer after dockerd.sh start:\n{info.stderr}", pytrace=False)


@pytest.fixture(scope="session")
def node_image(docker_daemon: None) -> str:
    """The base image for both Dockerfiles: local, else pulled from the local registry."""
    if docker("image", "inspect", NODE_IMAGE, check=False).returncode == 0:
        return NODE_IMAGE
    pull = docker("pull", NODE_IMAGE, check=False, timeout=900)
    if pull.returncode != 0:
        pytest.fail(
            f"base image {NODE_IMAGE} is neither local nor pullable ({pull.stderr.strip()}); "
            "build it with airgap/registry.sh and `python -m neosale_airgap.images build node`, "
            "or point NEOSALE_NODE_IMAGE at another Node 22 image",
            pytrace=False,
        )
    return NODE_IMAGE


@pytest.fixture(scope="session")
def build_meta() -> BuildMeta:
    """Fresh values each session, so a stale image cannot pass the metadata checks."""
    return BuildMeta(
        git_sha=secrets.token_hex(20),
        build_time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        app_version=f"0.1.0-test.{secrets.token_hex(3)}",
        source_url="https://git.example.invalid/neosale/neosale",
    )


@pytest.fixture(scope="session")
def fake_secret() -> str:
    """A credential passed only as a build secret; no image may contain it."""
    return f"npm_FAKE{secrets.token_hex(16)}"


@pytest.fixture(scope="session")
def build_secrets(tmp_path_factory: pytest.TempPathFactory, fake_secret: str) -> dict[str, Path]:
    if not Path(CA_BUNDLE).is_file():
        pytest.fail(
            f"CA bundle {CA_BUNDLE} for npm behind the proxy is missing (NEOSALE_BUILD_CA)", pytrace=False
        )
    npmrc = tmp_path_factory.mktemp("secrets") / "npmrc"
    # A private scope the apps never use: npm reads the file, nothing is sent.
    npmrc.write_text(
        f"@neosale-private:registry=https://npm.example.invalid/\n"
        f"//npm.example.invalid/:_authToken={fake_secret}\n"
    )
    return {"ca": Path(CA_BUNDLE), "npmrc": npmrc}


@pytest.fixture(scope="session")
def images(node_image: str, build_meta: BuildMeta, build_secrets: dict[str, Path]) -> dict[str, BuiltImage]:
    """Both app images, built side by side from the repository root."""
    with ThreadPoolExecutor(max_workers=len(APPS)) as pool:
        futures = {
            app: pool.submit(
                build_image, app, f"neosale-test/{app}:latest", build_meta, build_secrets, node_image
            )
            for app in APPS
        }
        for app, future in futures.items():
            _built[app] = future.result()
    return dict(_built)


def _run(name: str, image: str, *args: str) -> Iterator[str]:
    docker("rm", "-f", name, check=False)
    docker("run", "-d", "--name", name, *args, image)
    try:
        yield name
    finally:
        docker("rm", "-f", name, check=False)


@pytest.fixture(scope="session")
def frontend_container(images: dict[str, BuiltImage]) -> Iterator[str]:
    """The frontend as documented: read-only root, no capabilities, tmpfs for the Next.js cache and /tmp."""
    yield from _run(
        "neosale-test-frontend",
        images["frontend"].tag,
        "--read-only",
        "--cap-drop",
        "ALL",
        "--tmpfs",
        "/app/.next/cache",
        "--tmpfs",
        "/tmp",
        "-p",
        "127.0.0.1::3000",
        # Nothing listens there: pages must degrade, /api/health must not care.
        "-e",
        "BACKEND_URL=http://127.0.0.1:9",
    )


@pytest.fixture(scope="session")
def backend_container(images: dict[str, BuiltImage]) -> Iterator[str]:
    """The backend, read-only and without capabilities, with unreachable PostgreSQL and Redis."""
    yield from _run(
        "neosale-test-backend",
        images["backend"].tag,
        "--read-only",
        "--cap-drop",
        "ALL",
        "--tmpfs",
        "/tmp",
        "-p",
        "127.0.0.1::4000",
        "-e",
        "DATABASE_URL=postgresql://neosale:neosale@127.0.0.1:9/neosale",
        "-e",
        "REDIS_URL=redis://127.0.0.1:9",
    )
