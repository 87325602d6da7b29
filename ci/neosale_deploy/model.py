"""The deploy target (a docker host and one NEOSALE project on it) and image references."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from neosale_deploy.errors import UsageError
from neosale_deploy.reference import parse_reference

COLOURS = ("blue", "green")


class App(StrEnum):
    """The applications a colour runs, one container each."""

    BACKEND = "backend"
    FRONTEND = "frontend"


ROLES: tuple[App, ...] = tuple(App)
# One-off containers (never part of a colour): reconcile removes leftovers.
ONE_OFF_ROLES = ("migrate", "backup", "restore")
ACCESSORIES = ("postgres", "redis")

LABEL_PREFIX = "dev.neosale.deploy"
LABEL_PROJECT = f"{LABEL_PREFIX}.project"
LABEL_COLOUR = f"{LABEL_PREFIX}.colour"
LABEL_ROLE = f"{LABEL_PREFIX}.role"
LABEL_DIGEST = f"{LABEL_PREFIX}.digest"
LABEL_IMAGE = f"{LABEL_PREFIX}.image"
LABEL_DEPLOY_ID = f"{LABEL_PREFIX}.deploy-id"
# A keyed fingerprint of the role's app env (fingerprint.py), never the env itself.
LABEL_ENV = f"{LABEL_PREFIX}.env-fingerprint"
LABEL_LOCK = f"{LABEL_PREFIX}.lock"
# Set by the pipeline's builds; promote checks it against the approved sha.
REVISION_LABEL = "org.opencontainers.image.revision"

_PROJECT = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")


def other_colour(colour: str) -> str:
    return COLOURS[1] if colour == COLOURS[0] else COLOURS[0]


@dataclass(frozen=True)
class RoleSpec:
    """One application container of a colour."""

    name: str
    port: int
    health_path: str
    ready_path: str | None = None
    version_path: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    # The images are built for a read-only root filesystem; these stay writable (tmpfs).
    read_only: bool = True
    tmpfs: tuple[str, ...] = ("/tmp",)  # noqa: S108 (a private tmpfs, not a shared /tmp)


def _default_roles() -> dict[str, RoleSpec]:
    return {
        App.BACKEND: RoleSpec(App.BACKEND, 4000, "/health", "/ready", "/version"),
        App.FRONTEND: RoleSpec(App.FRONTEND, 3000, "/api/health", tmpfs=("/tmp", "/app/.next/cache")),  # noqa: S108
    }


@dataclass(frozen=True)
class Names:
    """What the project's objects on the docker host are called."""

    router: str
    lock: str
    network: str
    conf_mount: str
    state_volume: str
    backup_volume: str


@dataclass(frozen=True)
class Target:
    """Everything the deployer needs to know about one environment (e.g. neosale-staging)."""

    project: str = "neosale-staging"
    # unix:///var/run/docker.sock, tcp://host:2376 (with tls_*), ssh://user@host
    host: str = ""
    tls_ca: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_verify: bool = True
    # ssh:// hosts: a private key and a known_hosts file (empty: ~/.ssh/config, the agent, ~/.ssh).
    ssh_key: str = ""
    ssh_known_hosts: str = ""
    network: str = ""
    router_image: str = "nginx:1.27"
    # The repository's nginx/ folder the router runs; empty: $NEOSALE_ROUTER_CONF,
    # else the checkout this package lives in.
    router_conf: str = ""
    router_port: int = 8080
    preview_port: int = 8081
    router_bind: str = "0.0.0.0"  # noqa: S104 (the router is the public entry)
    # Empty: 127.0.0.1 for a local socket, 0.0.0.0 for a remote host (the deployer probes it).
    preview_bind: str = ""
    # Where the deployer reaches the router's ports; empty: derived from host.
    public_host: str = ""
    # A docker volume name, or an absolute host directory, mounted at the router's conf.d.
    conf_volume: str = ""
    # Empty: the ledger lives in the docker volume <project>-deploy-state on the target host.
    state_dir: str = ""
    roles: dict[str, RoleSpec] = field(default_factory=_default_roles)
    # Run once with the new backend image before the switch; the first word is the entrypoint.
    migrate_command: tuple[str, ...] = ("node", "dist/migrate.js")
    migrate_timeout: float = 600.0
    postgres_image: str = "postgres:16"
    redis_image: str = "redis:7"
    # Created by `setup` on the project network (accessories.py); [] when the
    # database and cache are elsewhere (a managed service).
    accessories: tuple[str, ...] = ACCESSORIES
    # postgres://user:pass@host:port/db of the shared database (for --production backups);
    # empty: the backend's DATABASE_URL.
    database_url: str = ""
    backup_volume: str = ""
    retain_seconds: float = 3600.0
    health_timeout: float = 120.0
    verify_seconds: float = 3.0
    lock_ttl: float = 7200.0
    stop_timeout: int = 30
    # Smoke on preview: "auto" = the neosale_smoke runner when installed, else the
    # built-in probe; "neosale_smoke"; "builtin". smoke_config: its TOML file.
    smoke: str = "auto"
    smoke_config: str = ""
    # Instead of either: a command line (no shell); `{url}` becomes the preview URL.
    smoke_command: tuple[str, ...] = ()
    api_timeout: float = 120.0

    def __post_init__(self) -> None:
        if not _PROJECT.match(self.project):
            raise UsageError(
                f"project {self.project!r} is not a valid name: "
                "expected lowercase letters, digits, '-', '_', '.'"
            )
        for name in ("router_port", "preview_port"):
            port = getattr(self, name)
            if not 0 < port < 65536:
                raise UsageError(f"{name} {port!r} is out of range: expected 1..65535")
        if self.router_port == self.preview_port:
            raise UsageError(f"router_port and preview_port are both {self.router_port}: expected two ports")
        if self.smoke not in ("auto", "neosale_smoke", "builtin"):
            raise UsageError(f"smoke {self.smoke!r} is not known: expected auto, neosale_smoke or builtin")
        for name in ("router_image", "postgres_image", "redis_image"):
            parse_reference(getattr(self, name), name, pinned=False)
        unknown = set(self.accessories) - set(ACCESSORIES)
        if unknown:
            raise UsageError(
                f"accessories {sorted(unknown)} are not known: expected some of {list(ACCESSORIES)}"
            )
        if not self.migrate_command:
            raise UsageError(
                "migrate_command is empty: expected a command such as ['node', 'dist/migrate.js']"
            )

    @property
    def preview_bind_addr(self) -> str:
        """The preview port stays private on a local host."""
        return self.preview_bind or ("127.0.0.1" if self.is_local else "0.0.0.0")  # noqa: S104

    @cached_property
    def names(self) -> Names:
        return Names(
            router=self.named("router"),
            lock=self.named("deploy-lock"),
            network=self.network or self.project,
            conf_mount=self.conf_volume or self.named("router-conf"),
            state_volume=self.named("deploy-state"),
            backup_volume=self.backup_volume or self.named("backups"),
        )

    @property
    def docker_host(self) -> str:
        return self.host or os.environ.get("DOCKER_HOST", "") or "unix:///var/run/docker.sock"

    @property
    def probe_host(self) -> str:
        """Where this machine reaches the router's ports."""
        if self.public_host:
            return self.public_host
        if self.is_local:
            return "127.0.0.1"
        return urlsplit(self.docker_host).hostname or "127.0.0.1"

    @property
    def is_local(self) -> bool:
        return self.docker_host.startswith(("unix://", "npipe://"))

    def named(self, what: str) -> str:
        """Every object of the project carries its name: `<project>-<what>`."""
        return f"{self.project}-{what}"

    @property
    def live_url(self) -> str:
        return f"http://{self.probe_host}:{self.router_port}"

    def container_name(self, colour: str, role: str) -> str:
        return self.named(f"{colour}-{role}")

    @property
    def preview_url(self) -> str:
        return f"http://{self.probe_host}:{self.preview_port}"


def _as_roles(raw: Any, path: str) -> dict[str, RoleSpec]:
    roles = _default_roles()
    if not isinstance(raw, dict):
        raise UsageError(f"{path}: [roles] must be a table, got {type(raw).__name__}")
    for name, spec in raw.items():
        if name not in ROLES:
            raise UsageError(
                f"{path}: unknown role {name!r} under [roles]: expected one of {', '.join(ROLES)}"
            )
        if not isinstance(spec, dict):
            raise UsageError(f"{path}: [roles.{name}] must be a table")
        env = spec.get("env", {})
        if not isinstance(env, dict) or not all(
            isinstance(v, str | int | float | bool) for v in env.values()
        ):
            raise UsageError(f"{path}: [roles.{name}.env] must map names to strings")
        base = roles[name]
        known = {"port", "health_path", "ready_path", "version_path", "env", "read_only", "tmpfs"}
        unknown = set(spec) - known
        if unknown:
            raise UsageError(
                f"{path}: unknown key(s) {sorted(unknown)} in [roles.{name}]: expected {sorted(known)}"
            )
        roles[name] = replace(
            base,
            port=int(spec.get("port", base.port)),
            health_path=str(spec.get("health_path", base.health_path)),
            ready_path=spec.get("ready_path", base.ready_path),
            version_path=spec.get("version_path", base.version_path),
            env={str(k): str(v) for k, v in env.items()},
            read_only=bool(spec.get("read_only", base.read_only)),
            tmpfs=tuple(str(p) for p in spec.get("tmpfs", base.tmpfs)),
        )
    return roles


def load_target(path: str | None, **overrides: Any) -> Target:
    """Read a TOML target file (top-level keys = Target fields, [roles.*] tables); CLI values win."""
    text = ""
    if path:
        try:
            text = Path(path).read_text()
        except FileNotFoundError:
            raise UsageError(f"config file {path!r} does not exist: expected a TOML target file") from None
    return parse_target(text, path or "", **overrides)


def parse_target(text: str, path: str, **overrides: Any) -> Target:
    """A target from TOML text (`path` names it in errors); overrides win."""
    values: dict[str, Any] = {}
    if text:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"config file {path!r} is not valid TOML: {exc}") from None
        names = {f.name for f in fields(Target)}
        for key, value in data.items():
            if key not in names:
                raise UsageError(f"{path}: unknown key {key!r}: expected one of {', '.join(sorted(names))}")
            if key == "roles":
                values["roles"] = _as_roles(value, path)
            elif key in ("migrate_command", "smoke_command", "accessories"):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise UsageError(f"{path}: {key} must be a list of strings, got {value!r}")
                values[key] = tuple(value)
            else:
                values[key] = value
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Target(**values)
    except TypeError as exc:
        raise UsageError(f"config: {exc}") from None
