"""PostgreSQL and Redis on the target (Kamal's accessories): created once by `setup`, never
touched by a deploy or a switch, their data in named volumes.

Each runs as `<project>-<name>` on the project network with the alias `<name>`
(so `postgres://…@postgres:5432/…` and `redis://redis:6379` reach them), a
docker health check, and `unless-stopped`. `setup` is idempotent: what runs is
left alone, what is stopped is started, what is missing is created.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from neosale_deploy import dockerhost as dh
from neosale_deploy.errors import DeployError, UsageError
from neosale_deploy.model import LABEL_PROJECT, LABEL_ROLE, App, Target

SECOND = 1_000_000_000  # docker health check durations are in nanoseconds


@dataclass(frozen=True)
class Accessory:
    name: str  # also the network alias and the container's role label
    image: str
    data: str  # where its named volume is mounted
    health: tuple[str, ...]
    env: dict[str, str]

    def container(self, target: Target) -> str:
        return container_name(target, self.name)

    def volume(self, target: Target) -> str:
        return f"{target.project}-{self.name}-data"


def container_name(target: Target, name: str) -> str:
    return f"{target.project}-{name}"


def pg_env(target: Target, need: str) -> tuple[dict[str, str], str]:
    """libpq's PG* variables for the shared database and where it is (no password) for messages."""
    url = target.database_url or target.roles[App.BACKEND].env.get("DATABASE_URL", "")
    if not url:
        raise UsageError(
            f"{need} needs the database: set database_url in the target config "
            "(or DATABASE_URL in [roles.backend.env] or --env-file); expected postgres://USER:PASS@HOST:PORT/DB"
        )
    u = urlsplit(url)
    if u.scheme not in ("postgres", "postgresql") or not u.hostname or not u.path.strip("/"):
        raise UsageError(
            f"database_url {u.scheme}://{u.hostname}{u.path} is not usable: expected postgres://USER:PASS@HOST:PORT/DB"
        )
    # Credentials travel as variables, never on a command line; query
    # parameters (Prisma's ?schema=) are not libpq's and are dropped.
    env = {
        "PGHOST": u.hostname,
        "PGPORT": str(u.port or 5432),
        "PGUSER": unquote(u.username or "postgres"),
        "PGPASSWORD": unquote(u.password or ""),
        "PGDATABASE": u.path.strip("/"),
    }
    return env, f"{u.hostname}:{u.port or 5432}/{env['PGDATABASE']}"


def wanted(target: Target) -> list[Accessory]:
    """The accessories the target asks for, PostgreSQL's credentials from its database URL."""
    out = []
    if "postgres" in target.accessories:
        pg, _ = pg_env(target, "setup")
        if not pg["PGPASSWORD"]:
            raise UsageError(
                "the database URL has no password: expected postgres://USER:PASS@postgres:5432/DB"
            )
        env = {
            "POSTGRES_USER": pg["PGUSER"],
            "POSTGRES_PASSWORD": pg["PGPASSWORD"],
            "POSTGRES_DB": pg["PGDATABASE"],
        }
        probe = 'pg_isready -q -h 127.0.0.1 -U "$POSTGRES_USER" -d "$POSTGRES_DB"'
        out.append(
            Accessory(
                "postgres", target.postgres_image, "/var/lib/postgresql/data", ("CMD-SHELL", probe), env
            )
        )
    if "redis" in target.accessories:
        out.append(Accessory("redis", target.redis_image, "/data", ("CMD", "redis-cli", "ping"), {}))
    return out


def missing(client: Any, target: Target) -> list[str]:
    """What `setup` would have to create or start: one line each (read-only)."""
    lines = []
    for name in target.accessories:
        cname = container_name(target, name)
        c = dh.get_container(client, cname)
        if c is None:
            lines.append(f"{name}: container {cname} does not exist")
        elif dh.state(c, reload=False) != "running":
            lines.append(f"{name}: container {cname} is {dh.state(c, reload=False)}")
    return lines


def _create(client: Any, target: Target, acc: Accessory) -> Any:
    dh.ensure_image(client, acc.image, f"{acc.name} image")
    dh.ensure_volume(client, target, acc.volume(target))
    return client.containers.create(
        acc.image,
        name=acc.container(target),
        environment=acc.env,
        labels={LABEL_PROJECT: target.project, LABEL_ROLE: acc.name},
        network=target.names.network,
        networking_config={target.names.network: client.api.create_endpoint_config(aliases=[acc.name])},
        volumes={acc.volume(target): {"bind": acc.data, "mode": "rw"}},
        restart_policy={"Name": "unless-stopped"},
        healthcheck={
            "test": list(acc.health),
            "interval": 2 * SECOND,
            "timeout": 5 * SECOND,
            "retries": 5,
            "start_period": 60 * SECOND,
        },
    )


def _wait_healthy(c: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        c.reload()
        st = c.attrs.get("State", {})
        health = (st.get("Health") or {}).get("Status")
        if st.get("Status") == "running" and health in (None, "healthy"):  # None: no health check
            return
        if st.get("Status") in ("exited", "dead") or time.monotonic() > deadline:
            why = f"{st.get('Status')}, health {health}"
            raise DeployError(f"{c.name} is not healthy within {timeout:.0f}s ({why}): {dh.logs_tail(c)}")
        time.sleep(0.5)


def ensure(client: Any, target: Target, acc: Accessory, say: Callable[[str], None]) -> str:
    """`acc` running and healthy; what was done, for the ledger."""
    c = dh.get_container(client, acc.container(target))
    if c is None:
        say(f"creating {acc.container(target)} ({acc.image}, volume {acc.volume(target)})")
        c = _create(client, target, acc)
        done = "created"
    elif dh.state(c) != "running":
        done = f"started (was {dh.state(c, reload=False)})"
    else:
        done = "already running"
    image = str(c.attrs.get("Config", {}).get("Image", ""))
    if image != acc.image:
        # Its data is in the volume, but an upgrade of a database is not a side effect of setup.
        say(f"{c.name} runs {image}, the target names {acc.image}: left as it is (remove it to replace it)")
    if done != "already running":
        c.start()
    _wait_healthy(c, target.health_timeout)
    return f"{acc.container(target)} {done}, healthy"
