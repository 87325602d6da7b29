"""Thin, typed helpers over the docker SDK (Docker Engine API over unix socket, TCP+TLS or ssh)."""

from __future__ import annotations

import contextlib
import io
import re
import select
import shlex
import shutil
import socket
import struct
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker  # type: ignore[import-untyped]
import docker.constants  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]
import docker.tls  # type: ignore[import-untyped]
import docker.utils.socket  # type: ignore[import-untyped]
import requests.exceptions
from docker.transport import sshconn  # type: ignore[import-untyped]

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


_HOST_FORMS = (
    "expected a running Docker Engine at unix:///path/docker.sock, tcp://HOST:PORT "
    "(with --tls-ca/--tls-cert/--tls-key) or ssh://USER@HOST[:PORT] (with --ssh-key/--ssh-known-hosts "
    "or ~/.ssh/config)"
)


def connect(target: Target) -> Any:
    """A client for the target's host; a host that does not answer is a usage error naming it.

    The API version is asked for before the client is built, so that nothing
    the SDK does on its own (its version round trip) bypasses the fixes below.
    """
    host = target.docker_host
    if not host.startswith(("unix://", "tcp://", "ssh://", "http://", "https://", "npipe://")):
        raise UsageError(
            f"docker host {host!r} is not understood: expected unix:///path/docker.sock, "
            "tcp://HOST:PORT or ssh://USER@HOST"
        )
    if host.startswith("ssh://"):
        return _connect_ssh(target)
    kwargs: dict[str, Any] = {"base_url": host, "timeout": int(target.api_timeout)}
    tls = _tls_config(target)
    if tls is not None:
        kwargs["tls"] = tls
    try:
        probe = _client(kwargs, docker.constants.MINIMUM_DOCKER_API_VERSION)
        try:
            version = str(probe.api.version(api_version=False)["ApiVersion"])
        finally:
            probe.close()
    except Exception as exc:  # the SDK raises requests/urllib3/ssl/OS errors as well as its own
        raise UsageError(_unreachable(target, exc)) from None
    return _client(kwargs, version)


def _client(kwargs: dict[str, Any], version: str) -> Any:
    """A DockerClient pinned to `version` (no round trip) whose TLS settings are its own."""
    client = docker.DockerClient(version=version, **kwargs)
    api = client.api
    merge = api.merge_environment_settings

    def merge_keeping_verify(url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (set on many CI machines)
        # replace the session's CA on every request: the host's own CA would be ignored.
        settings = merge(url, proxies, stream, verify, cert)
        settings["verify"] = api.verify if verify is None else verify
        return settings

    api.merge_environment_settings = merge_keeping_verify
    return client


def _tls_config(target: Target) -> Any:
    if not (target.tls_ca or target.tls_cert or target.tls_key):
        return None
    if not target.docker_host.startswith(("tcp://", "https://")):
        raise UsageError(
            f"--tls-* options are given for docker host {target.docker_host!r}: "
            "expected a tcp://HOST:PORT host with TLS"
        )
    if bool(target.tls_cert) != bool(target.tls_key):
        raise UsageError(
            "a client certificate needs both --tls-cert and --tls-key (tls_cert, tls_key): "
            f"got only {'tls_cert' if target.tls_cert else 'tls_key'}"
        )
    for what, path in (("tls_ca", target.tls_ca), ("tls_cert", target.tls_cert), ("tls_key", target.tls_key)):
        if path and not Path(path).is_file():
            raise UsageError(f"{what} {path!r} does not exist: expected a PEM file")
    cert = (target.tls_cert, target.tls_key) if target.tls_cert and target.tls_key else None
    try:
        return docker.tls.TLSConfig(client_cert=cert, ca_cert=target.tls_ca, verify=target.tls_verify)
    except docker.errors.TLSParameterError as exc:
        raise UsageError(f"TLS options for docker host {target.docker_host!r}: {exc}") from None


def _unreachable(target: Target, exc: BaseException) -> str:
    host = target.docker_host
    detail = f"{type(exc).__name__}: {exc}"
    ssl_reason = _ssl_reason(detail)
    if ssl_reason.startswith("certificate verify failed"):
        return (
            f"TLS to docker host {host!r} failed: its certificate is not trusted ({ssl_reason}); "
            "expected --tls-ca (tls_ca) to be the CA that signed the host's certificate"
        )
    if ssl_reason:
        return (
            f"TLS to docker host {host!r} failed: the host did not accept this client ({ssl_reason}); "
            "expected --tls-cert/--tls-key (tls_cert, tls_key) to be a client certificate signed by a CA "
            "the host trusts"
        )
    if host.startswith("tcp://") and not (target.tls_ca or target.tls_cert) and "reset by peer" in detail:
        return (
            f"docker host {host!r} closed the connection ({detail}); a TLS-protected host needs "
            "--tls-ca, --tls-cert and --tls-key"
        )
    return f"docker host {host!r} does not answer ({detail}); {_HOST_FORMS}"


# The useful part of an ssl error as requests/urllib3 nest it.
_SSL_REASON = re.compile(
    r"certificate verify failed: [^'(]*|(?:sslv3|tlsv1[0-9]?) alert [a-z ]+|wrong version number|"
    r"EOF occurred in violation of protocol|UNEXPECTED_EOF_WHILE_READING"
)


def _ssl_reason(detail: str) -> str:
    if "SSL" not in detail:
        return ""
    m = _SSL_REASON.search(detail)
    return m.group(0).strip() if m else "the TLS handshake failed"


# ssh://USER@HOST[:PORT]: the system ssh client (it honours ~/.ssh/config, agents and
# known_hosts) runs `docker system dial-stdio` on the host. BatchMode: a missing key
# or an unknown host key is an error, never a prompt that hangs a CI job.
SSH_DIAL = "docker system dial-stdio"


def ssh_argv(target: Target) -> list[str]:
    """`ssh [options] -- HOST` for the target; the caller appends the remote command."""
    host = target.docker_host
    url = urlsplit(host)
    try:
        port = url.port
    except ValueError:
        port = -1
    if not url.hostname or port == -1 or url.path not in ("", "/"):
        raise UsageError(f"docker host {host!r} is not understood: expected ssh://USER@HOST[:PORT]")
    argv = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=20", "-o", "LogLevel=ERROR"]
    if port:
        argv += ["-p", str(port)]
    if url.username:
        argv += ["-l", url.username]
    for what, path in (("ssh_key", target.ssh_key), ("ssh_known_hosts", target.ssh_known_hosts)):
        if path and not Path(path).is_file():
            raise UsageError(f"{what} {path!r} does not exist: expected a file")
    if target.ssh_key:
        argv += ["-i", target.ssh_key, "-o", "IdentitiesOnly=yes"]
    if target.ssh_known_hosts:
        argv += ["-o", f'UserKnownHostsFile="{target.ssh_known_hosts}"', "-o", "StrictHostKeyChecking=yes"]
    return [*argv, "--", url.hostname]


def _connect_ssh(target: Target) -> Any:
    """One ssh round trip proves the login and the remote docker CLI and gives the API version."""
    host = target.docker_host
    argv = ssh_argv(target)
    if shutil.which(argv[0]) is None:
        raise UsageError(f"docker host {host!r} needs the ssh client, which is not installed here")
    check = [*argv, shlex.join(["docker", "version", "--format", "{{.Server.APIVersion}}"])]
    try:
        out = subprocess.run(check, capture_output=True, text=True, timeout=target.api_timeout, check=False)
    except subprocess.TimeoutExpired:
        raise UsageError(
            f"docker host {host!r} does not answer over ssh within {target.api_timeout:g}s"
        ) from None
    err = " ".join(out.stderr.split())
    if out.returncode == 255:
        raise UsageError(
            f"docker host {host!r}: ssh failed ({err or 'ssh exited 255'}); expected a key the "
            "host authorizes (--ssh-key or ~/.ssh) and the host's key in known_hosts (--ssh-known-hosts)"
        )
    if out.returncode == 127:
        raise UsageError(
            f"docker host {host!r}: ssh logs in but there is no docker CLI on the host's PATH ({err}); "
            f"the ssh transport runs `{SSH_DIAL}` there"
        )
    version = out.stdout.strip()
    if out.returncode != 0 or not re.fullmatch(r"[0-9]+\.[0-9]+", version):
        raise UsageError(
            f"docker host {host!r}: ssh logs in but the Docker Engine there does not answer "
            f"(exit {out.returncode}: {err or version}); {_HOST_FORMS}"
        )
    client = docker.DockerClient(
        base_url=host, version=version, timeout=int(target.api_timeout), use_ssh_client=True
    )
    client.api.mount("http+docker://ssh", _SSHAdapter(argv, int(target.api_timeout)))
    return client


class _SSHSocket(sshconn.SSHSocket):  # type: ignore[misc]
    """The SDK's pipe-to-ssh socket with our ssh options, kept open across requests.

    The SDK starts one ssh login per API call (a deploy makes hundreds); here a
    connection is one `docker system dial-stdio` that serves request after
    request with HTTP keep-alive, as the docker CLI does, until it is closed.
    """

    def __init__(self, argv: list[str]) -> None:
        super().__init__("localhost")
        self.argv = argv

    def connect(self, **kwargs: Any) -> None:
        self.proc = subprocess.Popen(
            [*self.argv, SSH_DIAL],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            # Its own session: a Ctrl-C meant for the deployer does not cut a request in half.
            start_new_session=True,
        )

    def fileno(self) -> int:
        # What urllib3 and the SDK poll for readability: ssh's stdout, not the unused socket.
        if self.proc is not None and self.proc.stdout is not None:
            return int(self.proc.stdout.fileno())
        return int(super().fileno())

    def makefile(self, mode: str) -> _Response:
        if self.proc is None:
            self.connect()
        return _Response(self)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        # The SDK's close writes to ssh's stdin, which raises once ssh has exited (as it
        # does after a hijacked `docker exec`): end the process without writing.
        proc = self.proc
        if proc is not None and proc.returncode is None:
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        socket.socket.close(self)


class _Response:
    """ssh's stdout as one response's file: http.client closes that file after every
    response, but the pipe must stay open for the next request on the connection."""

    def __init__(self, sock: _SSHSocket) -> None:
        assert sock.proc is not None
        self.channel = sock  # where the SDK reads a hijacked (exec/attach) stream from
        self._pipe = sock.proc.stdout

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pipe, name)

    def close(self) -> None:
        pass


class _SSHConnection(sshconn.SSHConnection):  # type: ignore[misc]
    def __init__(self, argv: list[str], timeout: int) -> None:
        super().__init__(None, timeout, None)
        self.argv = argv

    def connect(self) -> None:
        sock = _SSHSocket(self.argv)
        sock.settimeout(self.timeout)
        sock.connect()
        self.sock = sock


class _SSHPool(sshconn.SSHConnectionPool):  # type: ignore[misc]
    def __init__(self, argv: list[str], timeout: int) -> None:
        super().__init__(None, timeout, docker.constants.DEFAULT_MAX_POOL_SIZE, None)
        self.argv = argv

    def _new_conn(self) -> _SSHConnection:
        return _SSHConnection(self.argv, self.timeout)

    def _get_conn(self, timeout: Any) -> _SSHConnection:
        conn: _SSHConnection = super()._get_conn(timeout)
        if conn.sock is not None and not conn.sock.alive():
            conn.close()  # ssh exited (host gone, session closed): dial again
        return conn


class _SSHAdapter(sshconn.SSHHTTPAdapter):  # type: ignore[misc]
    def __init__(self, argv: list[str], timeout: int) -> None:
        super().__init__("ssh://localhost", timeout, shell_out=True)
        self.pool = _SSHPool(argv, timeout)

    def get_connection(self, url: Any, proxies: Any = None) -> _SSHPool:
        return self.pool

    def close(self) -> None:
        self.pool.close()
        super().close()


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
