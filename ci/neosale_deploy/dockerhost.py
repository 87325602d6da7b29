"""Thin, typed helpers over the docker SDK (Docker Engine API over unix socket, TCP+TLS or ssh)."""

from __future__ import annotations

import io
import tarfile
import time
from dataclasses import dataclass
from typing import Any

import docker  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]
import docker.tls  # type: ignore[import-untyped]
import requests.exceptions

from neosale_deploy.errors import DeployError, UsageError
from neosale_deploy.model import LABEL_PROJECT, ImageRef, Target

Container = Any  # docker.models.containers.Container (the SDK ships no types)
NotFound = docker.errors.NotFound
ImageNotFound = docker.errors.ImageNotFound
APIError = docker.errors.APIError
DockerException = docker.errors.DockerException
# What container.wait(timeout=...) raises when the container outlives the timeout.
Timeout = (requests.exceptions.RequestException, DockerException)


def connect(target: Target) -> Any:
    """A client for the target's host; a host that does not answer is a usage error naming it."""
    host = target.docker_host
    if not host.startswith(("unix://", "tcp://", "ssh://", "http://", "https://", "npipe://")):
        raise UsageError(
            f"docker host {host!r} is not understood: expected unix:///path/docker.sock, tcp://HOST:PORT or ssh://USER@HOST"
        )
    kwargs: dict[str, Any] = {"base_url": host, "timeout": int(target.api_timeout)}
    if host.startswith("ssh://"):
        # The system ssh client honours ~/.ssh/config, agents and known_hosts.
        kwargs["use_ssh_client"] = True
    if target.tls_ca or target.tls_cert:
        cert = (target.tls_cert, target.tls_key) if target.tls_cert and target.tls_key else None
        kwargs["tls"] = docker.tls.TLSConfig(
            client_cert=cert, ca_cert=target.tls_ca, verify=target.tls_verify
        )
    try:
        # Negotiating the API version is the first round trip: it proves the host answers.
        client = docker.DockerClient(**kwargs)
    except Exception as exc:  # the SDK raises requests/paramiko/OS errors as well as its own
        raise UsageError(
            f"docker host {host!r} does not answer ({type(exc).__name__}: {exc}); "
            "expected a running Docker Engine at unix:///path/docker.sock, tcp://HOST:PORT (with --tls-*) or ssh://USER@HOST"
        ) from None
    return client


@dataclass(frozen=True)
class Info:
    """A container as the list endpoint reports it: one API call for all of them."""

    id: str
    name: str
    labels: dict[str, str]
    state: str
    health: str | None

    def label(self, key: str) -> str:
        return self.labels.get(key, "")


def _health_from_status(status: str) -> str | None:
    for marker, value in (
        ("(unhealthy)", "unhealthy"),
        ("(healthy)", "healthy"),
        ("(health: starting)", "starting"),
    ):
        if marker in status:
            return value
    return None


def list_project(client: Any, target: Target) -> list[Info]:
    rows = client.api.containers(all=True, filters={"label": [f"{LABEL_PROJECT}={target.project}"]})
    return [
        Info(
            id=str(r["Id"]),
            name=str((r.get("Names") or ["/?"])[0]).lstrip("/"),
            labels={str(k): str(v) for k, v in (r.get("Labels") or {}).items()},
            state=str(r.get("State", "unknown")),
            health=_health_from_status(str(r.get("Status", ""))),
        )
        for r in rows
    ]


def remove_id(client: Any, info: Info, stop_timeout: int | None = None) -> None:
    """Stop gracefully when asked (the old colour drains), then remove; gone already is fine."""
    try:
        if stop_timeout is not None and info.state == "running":
            client.api.stop(info.id, timeout=stop_timeout)
        client.api.remove_container(info.id, force=True)
    except NotFound:
        pass
    except APIError as exc:
        if "is already in progress" not in str(exc):
            raise


def logs_id(client: Any, info: Info, lines: int = 20) -> str:
    try:
        return bytes(client.api.logs(info.id, tail=lines)).decode(errors="replace").strip()
    except DockerException:
        return ""


def handle(client: Any, name: str) -> Container:
    """A container object by name without an inspect: API calls accept the name as id."""
    return client.containers.prepare_model({"Id": name, "Name": name})


def get_container(client: Any, name: str) -> Container | None:
    try:
        return client.containers.get(name)
    except NotFound:
        return None


def label(container: Container, key: str) -> str:
    return str((container.labels or {}).get(key, ""))


def state(container: Container, reload: bool = True) -> str:
    """running | created | exited | restarting | dead | paused | removing (fresh inspect unless told)."""
    try:
        if reload:
            container.reload()
    except NotFound:
        return "missing"
    return str(container.attrs.get("State", {}).get("Status", "unknown"))


def logs_tail(container: Container, lines: int = 20) -> str:
    try:
        raw = container.logs(tail=lines)
    except DockerException:
        return ""
    return bytes(raw).decode(errors="replace").strip()


def remove(container: Container, stop_timeout: int | None = None) -> None:
    """Stop gracefully when asked (the old colour drains), then remove; gone already is fine."""
    try:
        if stop_timeout is not None and state(container) == "running":
            container.stop(timeout=stop_timeout)
        container.remove(force=True, v=False)
    except NotFound:
        pass
    except APIError as exc:
        if "is already in progress" not in str(exc):
            raise


def put_files(container: Container, directory: str, files: dict[str, str]) -> None:
    """Copy text files into a (running or stopped) container's directory in one archive."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    if not container.put_archive(directory, buf.getvalue()):
        raise DeployError(f"could not copy {', '.join(files)} into {container.name}:{directory}")


def get_file(container: Container, path: str) -> str | None:
    """A text file from a container (running or stopped); None when it does not exist."""
    try:
        stream, _ = container.get_archive(path)
    except NotFound:
        return None
    buf = io.BytesIO(b"".join(stream))
    with tarfile.open(fileobj=buf) as tar:
        member = tar.next()
        if member is None:
            return None
        f = tar.extractfile(member)
        return None if f is None else f.read().decode()


def exec_sh(container: Container, script: str) -> tuple[int, str]:
    code, out = container.exec_run(["sh", "-c", script], stdout=True, stderr=True)
    return int(code), bytes(out or b"").decode(errors="replace").strip()


def ensure_network(client: Any, target: Target) -> None:
    name = target.network_name
    if client.networks.list(names=[name]):
        return
    try:
        client.networks.create(name, driver="bridge", labels={LABEL_PROJECT: target.project})
    except APIError as exc:  # created concurrently (e.g. by compose): fine
        if not client.networks.list(names=[name]):
            raise DeployError(f"could not create network {name!r}: {exc}") from None


def ensure_volume(client: Any, target: Target, name: str) -> None:
    try:
        client.volumes.get(name)
    except NotFound:
        client.volumes.create(name, labels={LABEL_PROJECT: target.project})


def ensure_image(client: Any, ref: str, what: str) -> str:
    """Make `ref` (by digest or a tag) present on the host; return its image id."""
    try:
        return str(client.images.get(ref).id)
    except NotFound:
        pass
    except APIError as exc:
        raise UsageError(f"{what} {ref!r} is not a valid image reference: {exc.explanation}") from None
    try:
        return str(client.images.pull(ref).id)
    except (APIError, DockerException) as exc:
        detail = getattr(exc, "explanation", None) or str(exc)
        raise UsageError(
            f"{what} {ref!r} does not exist on the docker host and could not be pulled: {detail}; "
            "expected an image pushed to a registry the host can reach, referenced by its digest"
        ) from None


def ensure_app_image(client: Any, image: ImageRef, what: str) -> str:
    """Pull by digest; the run then uses repo@digest, so the tag can never move under us."""
    return ensure_image(client, image.pull_ref, what)
