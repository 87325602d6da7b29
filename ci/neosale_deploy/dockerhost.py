"""Thin, typed helpers over the docker SDK: containers, files, exec, networks, volumes, images.

connect.py makes the client (unix socket, tcp:// with TLS, ssh://)."""

from __future__ import annotations

import io
import select
import struct
import tarfile
import time
from typing import Any

import docker  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]
import docker.utils.socket  # type: ignore[import-untyped]
import requests.exceptions

from neosale_deploy.colours import Info, info_from_row
from neosale_deploy.errors import DeployError, UsageError
from neosale_deploy.model import LABEL_PROJECT, Target
from neosale_deploy.reference import ImageRef

Container = Any  # docker.models.containers.Container (the SDK ships no types)
NotFound = docker.errors.NotFound
ImageNotFound = docker.errors.ImageNotFound
APIError = docker.errors.APIError
DockerException = docker.errors.DockerException
# What container.wait(timeout=...) raises when the container outlives the timeout.
Timeout = (requests.exceptions.RequestException, DockerException)


def list_project(client: Any, target: Target) -> list[Info]:
    rows = client.api.containers(all=True, filters={"label": [f"{LABEL_PROJECT}={target.project}"]})
    return [info_from_row(r) for r in rows]


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


def put_files(container: Container, directory: str, files: dict[str, str], mode: int = 0o644) -> None:
    """Copy text files into a (running or stopped) container's directory in one archive."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))
    if not container.put_archive(directory, buf.getvalue()):
        raise DeployError(f"could not copy {', '.join(files)} into {container.name}:{directory}")


def get_file(container: Container, path: str) -> str | None:
    """A text file from a container (running or stopped); None when it does not exist."""
    return next(iter(get_files(container, path).values()), None)


def get_files(container: Container, path: str) -> dict[str, str]:
    """The text files of a path (a file, or a directory's files by base name), in one call."""
    try:
        stream, _ = container.get_archive(path)
    except NotFound:
        return {}
    out: dict[str, str] = {}
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
        for member in tar:
            f = tar.extractfile(member) if member.isfile() else None
            if f is not None:
                out[member.name.rpartition("/")[2]] = f.read().decode()
    return out


def exec_sh(container: Container, script: str, timeout: float = 60.0) -> tuple[int, str]:
    """`sh -c script` in the container: exit code and output.

    The output stream ends when the exec has exited, not at EOF: a forwarded
    docker socket (the deployer in a Dagger runner) may never pass on the end
    of an attached stream, and waiting for it would hang the switch.
    """
    api = container.client.api
    exec_id = api.exec_create(container.id, ["sh", "-c", script], stdout=True, stderr=True)["Id"]
    sock = api.exec_start(exec_id, socket=True)
    data = bytearray()
    deadline = time.monotonic() + timeout
    try:
        exited = False
        while time.monotonic() < deadline:
            if select.select([sock], [], [], 0.2)[0]:
                chunk = docker.utils.socket.read(sock, 65536)
                if not chunk:
                    break
                data += chunk
            elif exited:  # exited, and nothing more came in a quiet interval
                break
            else:
                exited = not api.exec_inspect(exec_id)["Running"]
    finally:
        sock.close()
    info = api.exec_inspect(exec_id)
    if info["Running"]:
        raise DeployError(f"`sh -c` in {container.id} did not finish within {timeout:.0f}s")
    return int(info["ExitCode"]), demux(bytes(data)).decode(errors="replace").strip()


def demux(stream: bytes) -> bytes:
    """stdout and stderr of a non-TTY attach: frames of an 8-byte header and a payload."""
    out, i = bytearray(), 0
    while i + 8 <= len(stream):
        size = struct.unpack(">I", stream[i + 4 : i + 8])[0]
        out += stream[i + 8 : i + 8 + size]
        i += 8 + size
    return bytes(out)


def ensure_network(client: Any, target: Target) -> None:
    name = target.names.network
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
