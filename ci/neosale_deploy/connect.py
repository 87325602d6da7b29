"""Connecting to the target's docker host: a unix socket, tcp:// with TLS, or ssh://.

A host that does not answer, an untrusted certificate, a refused client or an
ssh login that fails is a usage error naming the host and the option to fix.
"""

from __future__ import annotations

import contextlib
import re
import shlex
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import docker  # type: ignore[import-untyped]
import docker.constants  # type: ignore[import-untyped]
import docker.errors  # type: ignore[import-untyped]
import docker.tls  # type: ignore[import-untyped]
from docker.transport import sshconn  # type: ignore[import-untyped]

from neosale_deploy.errors import UsageError
from neosale_deploy.model import Target

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
