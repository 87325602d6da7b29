"""Delivery stages: the deployer CLI (ci/neosale_deploy) run in the runner
image against a docker host: staging deploy, production promote, rollback,
status. The deployer holds the logic (lock, migrations, health, smoke on the
idle colour, router switch, switch-back); this file only wires the target,
the credentials and the images into its command line.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass

import dagger

from neosale_deploy.errors import UsageError
from neosale_deploy.model import Target, parse_target

from .context import Context, run_tool
from .errors import StageError
from .hostnet import HOST_ALIAS, bind_host_ports
from .runner import runner
from .sdk import enum_type


@enum_type
class Environment(enum.Enum):
    """Where a delivery function deploys; each has its target file deploy/<name>.toml."""

    staging = "staging"
    production = "production"


SOCKET = "/var/run/docker.sock"
SECRETS = "/run/neosale"
TARGET = "/work/target.toml"
# Debian-based python images (the official ones, the air-gapped stand-in) lack ssh.
SSH_CLIENT = (
    "command -v ssh >/dev/null || "
    "(apt-get update -qq && apt-get install -y -qq --no-install-recommends openssh-client)"
)


@dataclass(frozen=True)
class DockerAccess:
    """How the runner reaches the docker host: a local socket, or a remote
    tcp:// (TLS) or ssh:// host whose address and credentials are secrets."""

    socket: dagger.Socket | None = None
    host: dagger.Secret | None = None
    ssh_key: dagger.Secret | None = None
    ssh_known_hosts: dagger.Secret | None = None
    tls_ca: dagger.Secret | None = None
    tls_cert: dagger.Secret | None = None
    tls_key: dagger.Secret | None = None
    # The docker host's login to a private registry, for the pulls.
    pull_username: str = ""
    pull_password: dagger.Secret | None = None

    def check(self, stage: str) -> None:
        if bool(self.pull_username) != (self.pull_password is not None):
            raise StageError(
                stage, "--pull-username and --pull-password go together: expected both or neither"
            )
        if (self.socket is None) == (self.host is None):
            raise StageError(
                stage,
                "expected exactly one docker host: --docker-socket (a local engine, e.g. "
                "unix:///var/run/docker.sock) or --docker-host (tcp://HOST:2376 or ssh://USER@HOST)",
            )
        if (self.tls_cert is None) != (self.tls_key is None):
            raise StageError(stage, "--tls-cert and --tls-key go together: expected both or neither")
        if self.socket is not None and any(
            s is not None for s in (self.ssh_key, self.ssh_known_hosts, self.tls_ca, self.tls_cert)
        ):
            raise StageError(stage, "ssh and TLS credentials are for --docker-host, not --docker-socket")
        if self.ssh_key is not None and self.ssh_known_hosts is None:
            raise StageError(
                stage, "--ssh-key needs --ssh-known-hosts: the host key is checked, never trusted blindly"
            )

    def apply(self, ctr: dagger.Container, target: Target) -> tuple[dagger.Container, list[str]]:
        """Mount the socket or the credentials (files 0600); the deployer's options for them."""
        ctr, login = self._pull_login(ctr)
        ctr, args = self._host(ctr, target)
        return ctr, [*login, *args]

    def _pull_login(self, ctr: dagger.Container) -> tuple[dagger.Container, list[str]]:
        if self.pull_password is None:
            return ctr, []
        # The deployer reads the password from its environment only (never argv).
        ctr = ctr.with_secret_variable("NEOSALE_REGISTRY_PASSWORD", self.pull_password)
        return ctr, ["--registry-user", self.pull_username]

    def _host(self, ctr: dagger.Container, target: Target) -> tuple[dagger.Container, list[str]]:
        if self.socket is not None:
            # A local engine publishes the router on this machine's loopback.
            ctr = bind_host_ports(
                ctr.with_unix_socket(SOCKET, self.socket), [target.router_port, target.preview_port]
            )
            return ctr, ["--host", f"unix://{SOCKET}", "--public-host", HOST_ALIAS]
        assert self.host is not None  # check() ran
        ctr = ctr.with_secret_variable("DOCKER_HOST", self.host)
        args: list[str] = []
        if self.ssh_key is not None and self.ssh_known_hosts is not None:
            # The docker SDK runs the system ssh client for ssh:// hosts.
            ctr = (
                ctr.with_exec(["sh", "-c", SSH_CLIENT])
                .with_mounted_secret(f"{SECRETS}/ssh-key", self.ssh_key, mode=0o600)
                .with_mounted_secret(f"{SECRETS}/known_hosts", self.ssh_known_hosts, mode=0o600)
            )
            args += ["--ssh-key", f"{SECRETS}/ssh-key", "--ssh-known-hosts", f"{SECRETS}/known_hosts"]
        for name, secret in (("ca", self.tls_ca), ("cert", self.tls_cert), ("key", self.tls_key)):
            if secret is not None:
                path = f"{SECRETS}/tls-{name}.pem"
                ctr = ctr.with_mounted_secret(path, secret, mode=0o600)
                args += [f"--tls-{name}", path]
        return ctr, args


@dataclass(frozen=True)
class Deployment:
    """One environment of NEOSALE and how to reach it."""

    ctx: Context
    access: DockerAccess
    environment: Environment
    target: dagger.File | None = None
    app_env: dagger.Secret | None = None

    async def run(self, stage: str, command: str, *args: str) -> str:
        """`python -m neosale_deploy COMMAND` in the runner; its output, or a StageError with it."""
        self.access.check(stage)
        target_file, origin = await self._target_file(stage)
        try:
            target = parse_target(await target_file.contents(), origin)
        except UsageError as exc:
            raise StageError(stage, str(exc)) from None
        ctr, access_args = self.access.apply(await runner(self.ctx), target)
        ctr = ctr.with_mounted_file(TARGET, target_file)
        argv = [
            "python",
            "-m",
            "neosale_deploy",
            command,
            "--config",
            TARGET,
            "--router-image",
            self.ctx.images.nginx,
            "--postgres-image",
            self.ctx.images.postgres,
            "--redis-image",
            self.ctx.images.redis,
            *access_args,
        ]
        if self.app_env is not None:
            ctr = ctr.with_mounted_secret(f"{SECRETS}/app.env", self.app_env, mode=0o600)
            argv += ["--env-file", f"{SECRETS}/app.env"]
        # A deploy is a side effect: its exec must never come from the cache.
        ctr = ctr.with_env_variable("NEOSALE_RUN_AT", str(time.time_ns()))
        done = await run_tool(stage, ctr, [*argv, *args])
        return "\n".join(p.strip() for p in (await done.stdout(), await done.stderr()) if p.strip())

    async def _target_file(self, stage: str) -> tuple[dagger.File, str]:
        if self.target is not None:
            return self.target, "--target"
        path = f"deploy/{self.environment.value}.toml"
        if not await self.ctx.source.glob(path):
            raise StageError(
                stage, f"{path} is missing from the source: expected the {self.environment.value} target"
            )
        return self.ctx.source.file(path), path


def digest_args(backend: str, frontend: str, sha: str, approved_by: str) -> list[str]:
    args = ["--backend", backend, "--frontend", frontend, "--expect-revision", sha]
    return [*args, "--approved-by", approved_by] if approved_by else args
