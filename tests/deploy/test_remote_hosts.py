"""The deployer against remote docker hosts for real: TCP with mutual TLS, and ssh.

Both endpoints front the machine's real dockerd, started here on loopback:
- tcp://127.0.0.1:PORT: socat terminates TLS (throwaway CA, server and client
  certificates made with openssl, verify=1: a client certificate is required)
  and forwards to /var/run/docker.sock, as `dockerd --tlsverify` would serve it.
- ssh://USER@127.0.0.1:PORT: an unprivileged-port sshd with its own host key and
  authorized_keys; the deployer's ssh client runs `docker system dial-stdio`
  there, exactly as for a remote machine.
Bad credentials must fail with exit 2, a message naming the host and the
problem, and nothing changed on the host.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .helpers import Env, cleanup, free_port, live_versions, new_env, project_containers

pytestmark = pytest.mark.docker

DOCKER_SOCKET = "/var/run/docker.sock"


def _need(*binaries: str) -> None:
    missing = [b for b in binaries if shutil.which(b) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (scripts/setup.sh installs it)")


def _run(*argv: str | Path, cwd: Path | None = None) -> None:
    subprocess.run([str(a) for a in argv], check=True, capture_output=True, cwd=cwd)


def _wait_port(port: int, proc: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} does not listen on 127.0.0.1:{port}: {log.read_text()[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- TCP + mutual TLS ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsHost:
    url: str
    ca: Path
    cert: Path
    key: Path
    # A second, unrelated CA and a client certificate it signed.
    other_ca: Path
    other_cert: Path
    other_key: Path

    def options(self, ca: Path, cert: Path | None, key: Path | None) -> list[str]:
        out = ["--host", self.url, "--tls-ca", str(ca)]
        if cert is not None and key is not None:
            out += ["--tls-cert", str(cert), "--tls-key", str(key)]
        return out


def _ca(d: Path, name: str) -> tuple[Path, Path]:
    key, pem = d / f"{name}.key", d / f"{name}.pem"
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={name}", "-keyout", key, "-out", pem)  # fmt: skip
    return pem, key


def _signed(d: Path, name: str, ca: tuple[Path, Path], ext: str) -> tuple[Path, Path]:
    key, csr, pem, extfile = d / f"{name}.key", d / f"{name}.csr", d / f"{name}.pem", d / f"{name}.ext"
    extfile.write_text(ext + "\n")
    _run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
         "-keyout", key, "-out", csr)  # fmt: skip
    _run("openssl", "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial",
         "-days", "2", "-extfile", extfile, "-out", pem)  # fmt: skip
    return pem, key


@pytest.fixture(scope="module")
def tls_host(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Iterator[TlsHost]:
    _need("openssl", "socat")
    d = tmp_path_factory.mktemp("tls")
    ca = _ca(d, "ca")
    server = _signed(
        d, "server", ca, "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth"
    )
    client = _signed(d, "client", ca, "extendedKeyUsage=clientAuth")
    other_ca = _ca(d, "other-ca")
    other = _signed(d, "other-client", other_ca, "extendedKeyUsage=clientAuth")
    port = free_port()
    log = d / "socat.log"
    listen = (
        f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,"
        f"cert={server[0]},key={server[1]},cafile={ca[0]},verify=1"
    )
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["socat", listen, f"UNIX-CONNECT:{DOCKER_SOCKET}"], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_port(port, proc, log, "socat")
        yield TlsHost(f"tcp://127.0.0.1:{port}", ca[0], client[0], client[1], other_ca[0], other[0], other[1])
    finally:
        _stop(proc)


# --- ssh ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SshHost:
    url: str
    key: Path
    known_hosts: Path
    # A key the host does not authorize, and a known_hosts file that lacks the host.
    other_key: Path
    empty_known_hosts: Path

    def options(self, key: Path, known_hosts: Path) -> list[str]:
        return ["--host", self.url, "--ssh-key", str(key), "--ssh-known-hosts", str(known_hosts)]


@pytest.fixture(scope="module")
def ssh_host(tmp_path_factory: pytest.TempPathFactory, docker_client: Any) -> Iterator[SshHost]:
    _need("ssh", "ssh-keygen", "docker")
    sshd = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").exists() else None)
    if sshd is None:
        pytest.skip("sshd not installed (openssh-server; scripts/setup.sh installs it)")
    d = tmp_path_factory.mktemp("ssh")
    for name in ("host", "client", "other"):
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", d / f"{name}_key")
    (d / "authorized_keys").write_text((d / "client_key.pub").read_text())
    (d / "authorized_keys").chmod(0o600)
    port = free_port()
    (d / "sshd_config").write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {d / 'host_key'}",
                f"AuthorizedKeysFile {d / 'authorized_keys'}",
                f"PidFile {d / 'sshd.pid'}",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                "UsePAM no",
                # pytest's tmp dirs are not the 0700 tree sshd insists on for a home.
                "StrictModes no",
                "LogLevel VERBOSE",
            ]
        )
        + "\n"
    )
    host_key = (d / "host_key.pub").read_text().split()
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    (d / "empty_known_hosts").write_text("")
    if os.geteuid() == 0:
        # sshd's privilege separation directory (Debian's unit creates it).
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    log = d / "sshd.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(d / "sshd_config")], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_port(port, proc, log, "sshd")
        yield SshHost(
            f"ssh://{getpass.getuser()}@127.0.0.1:{port}",
            d / "client_key",
            d / "known_hosts",
            d / "other_key",
            d / "empty_known_hosts",
        )
    finally:
        _stop(proc)


# --- the tests ------------------------------------------------------------------------------------


@pytest.fixture
def remote_env(tmp_path: Path, docker_client: Any, app_images: dict[str, str]) -> Iterator[Env]:
    # The same target as the other tests; each test names the host on the command line.
    e = new_env(tmp_path, app_images)
    yield e
    cleanup(docker_client, e.project)


def host_snapshot(client: Any, env: Env) -> list[tuple[str, str, str]]:
    """What a refused command must leave as it was: containers, their states and images."""
    return sorted((c.name, c.status, c.image.id) for c in project_containers(client, env.project))


def ledger_length(env: Env) -> int:
    out = env.cli("history", "--json", "--limit", "1000")
    assert out.returncode == 0, out.stderr
    return len(out.stdout.splitlines())


def same_view(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Two status reports of one engine agree (health may move on between them)."""

    def view(st: dict[str, Any]) -> Any:
        colours = {
            k: (v["deploy_id"], v["images"], sorted(c["name"] for c in v["containers"].values()))
            for k, v in st["colours"].items()
        }
        return st["live"], st["preview"], st["router"]["name"], colours, [e["id"] for e in st["last"]]

    assert view(a) == view(b)


def status_json(env: Env, *options: str) -> dict[str, Any]:
    out = env.cli("status", "--json", *options)
    assert out.returncode == 0, out.stdout + out.stderr
    st: dict[str, Any] = json.loads(out.stdout)
    return st


def assert_refused(env: Env, client: Any, options: list[str], host: str, *needles: str) -> None:
    before, entries = host_snapshot(client, env), ledger_length(env)
    for command in (["status"], ["deploy", "--backend", env.images["v2"], "--frontend", env.images["v2"]]):
        out = env.cli(*command, *options, timeout=60)
        assert out.returncode == 2, f"{command[0]} {options}: {out.stdout}{out.stderr}"
        message = out.stderr.strip()
        assert message.startswith("neosale-deploy: error:"), message
        assert "Traceback" not in out.stderr, out.stderr
        assert repr(host) in message, message
        for needle in needles:
            assert needle in message, message
    assert host_snapshot(client, env) == before
    assert ledger_length(env) == entries
    assert live_versions(env.live_url, n=5) == {"v1"}


def deploy_and_status(env: Env, opts: list[str], url: str, what: str) -> None:
    """Deploy v1 and read status through the remote endpoint; both must match the local view."""
    t0 = time.monotonic()
    out = env.deploy("v1", *opts)
    deploy_s = time.monotonic() - t0
    assert out.returncode == 0, out.stdout + out.stderr
    assert live_versions(env.live_url) == {"v1"}
    t0 = time.monotonic()
    st = status_json(env, *opts)
    print(f"\n{what} host: deploy {deploy_s:.1f}s, status {time.monotonic() - t0:.2f}s")
    assert st["host"] == url
    assert st["live"] == "blue"
    assert st["router"]["state"] == "running"
    assert {c["state"] for c in st["colours"]["blue"]["containers"].values()} == {"running"}
    assert st["colours"]["blue"]["images"]["backend"] == env.images["v1"]
    # Exactly what the local socket sees: the remote endpoint is the same engine.
    same_view(st, status_json(env))


def test_tls_host_deploy_and_status(remote_env: Env, tls_host: TlsHost) -> None:
    deploy_and_status(
        remote_env, tls_host.options(tls_host.ca, tls_host.cert, tls_host.key), tls_host.url, "TLS"
    )


def test_tls_host_refuses_bad_credentials(remote_env: Env, tls_host: TlsHost, docker_client: Any) -> None:
    out = remote_env.deploy("v1")
    assert out.returncode == 0, out.stdout + out.stderr
    h = tls_host
    # A client certificate from another CA: the host rejects it during the handshake.
    assert_refused(
        remote_env, docker_client, h.options(h.ca, h.other_cert, h.other_key), h.url,
        "TLS", "did not accept this client", "--tls-cert",
    )  # fmt: skip
    # No client certificate at all (the handshake ends in an alert or a bare EOF, by timing).
    assert_refused(
        remote_env, docker_client, h.options(h.ca, None, None), h.url, "TLS", "did not accept this client"
    )
    # The wrong CA: the host's certificate is not trusted.
    assert_refused(
        remote_env, docker_client, h.options(h.other_ca, h.cert, h.key), h.url,
        "TLS", "not trusted", "certificate verify failed", "--tls-ca",
    )  # fmt: skip
    # Plain TCP to a TLS port.
    assert_refused(remote_env, docker_client, ["--host", h.url], h.url, "--tls-ca")
    # A certificate without its key is bad input before anything is dialled.
    bad = ["--host", h.url, "--tls-ca", str(h.ca), "--tls-cert", str(h.cert)]
    out = remote_env.cli("status", *bad)
    assert out.returncode == 2
    assert "needs both --tls-cert and --tls-key" in out.stderr, out.stderr


def test_ssh_host_deploy_status_and_rollback(remote_env: Env, ssh_host: SshHost) -> None:
    opts = ssh_host.options(ssh_host.key, ssh_host.known_hosts)
    deploy_and_status(remote_env, opts, ssh_host.url, "ssh")
    # The switch runs a script in the router over `docker exec`: a rollback needs
    # a second colour, so deploy v2 over ssh and roll back over ssh.
    out = remote_env.deploy("v2", *opts)
    assert out.returncode == 0, out.stdout + out.stderr
    assert live_versions(remote_env.live_url) == {"v2"}
    out = remote_env.cli("rollback", *opts)
    assert out.returncode == 0, out.stdout + out.stderr
    assert live_versions(remote_env.live_url) == {"v1"}


def test_ssh_host_refuses_bad_credentials(remote_env: Env, ssh_host: SshHost, docker_client: Any) -> None:
    out = remote_env.deploy("v1")
    assert out.returncode == 0, out.stdout + out.stderr
    h = ssh_host
    # A key the host does not authorize.
    assert_refused(
        remote_env, docker_client, h.options(h.other_key, h.known_hosts), h.url,
        "ssh", "Permission denied (publickey)", "--ssh-key",
    )  # fmt: skip
    # A host whose key is not in known_hosts: refused, never a prompt.
    assert_refused(
        remote_env, docker_client, h.options(h.key, h.empty_known_hosts), h.url,
        "ssh", "Host key verification failed", "--ssh-known-hosts",
    )  # fmt: skip
    # A file that does not exist is bad input before anything is dialled.
    out = remote_env.cli("status", *h.options(h.key, h.key.parent / "missing"))
    assert out.returncode == 2
    assert "ssh_known_hosts" in out.stderr, out.stderr
    assert "does not exist" in out.stderr, out.stderr
