"""The seam between the deployer's decisions and the docker host they act on.

`Host` is exactly what reconcile and rollback ask of the host and its router:
the project's containers, removing one, the router's routing and its probes.
`DockerHost` is the real one; tests/unit/fakehost.py keeps the same state in
memory, so those decisions are tested in milliseconds next to the real-engine
tests.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

from neosale_deploy import dockerhost as dh
from neosale_deploy import probe
from neosale_deploy.colours import Colours, Info
from neosale_deploy.model import Target
from neosale_deploy.probe import Side
from neosale_deploy.router import Router
from neosale_deploy.routerconf import Routing

Log = Callable[[str], None]


class Host(Protocol):
    def colours(self) -> Colours:
        """The project's containers; one snapshot until refresh()."""
        ...

    def refresh(self) -> None: ...

    def remove(self, info: Info, stop_timeout: int | None = None) -> None:
        """Stop (gracefully when given a timeout) and remove; gone already is fine."""
        ...

    def wait(self, info: Info, timeout: float) -> None:
        """Until the container exits or `timeout` passes."""
        ...

    def ensure_network(self) -> None: ...

    def ensure_router(self, initial: Callable[[], Routing]) -> None:
        """The router runs the current configuration; a new one gets `initial()`."""
        ...

    def routing(self) -> Routing | None:
        """What the router's upstream.conf puts in force."""
        ...

    def marker(self) -> Routing | None:
        """What the router's workers answer (one HTTP request)."""
        ...

    def apply(self, live: str | None, preview: str | None) -> Routing: ...

    def healthy(self, side: Side) -> tuple[bool, str]:
        """Every app answers healthy through the router's `side`, and what each said."""
        ...

    def env_given(self, info: Info) -> tuple[list[str], list[str]]:
        """A container's Env and its image's Env (NAME=VALUE strings; only names are kept)."""
        ...


@dataclass
class DockerHost:
    """`Host` over the Docker Engine API and the nginx router."""

    client: Any
    target: Target
    router: Router
    _snapshot: Colours | None = field(default=None, init=False)

    def colours(self) -> Colours:
        # One list call serves every question until refresh(): over a loaded
        # or remote host each API round trip costs tens of milliseconds.
        if self._snapshot is None:
            self._snapshot = Colours(tuple(dh.list_project(self.client, self.target)))
        return self._snapshot

    def refresh(self) -> None:
        self._snapshot = None

    def remove(self, info: Info, stop_timeout: int | None = None) -> None:
        dh.remove_id(self.client, info, stop_timeout)

    def wait(self, info: Info, timeout: float) -> None:
        with suppress(*dh.Timeout):
            self.client.api.wait(info.id, timeout=timeout)

    def ensure_network(self) -> None:
        dh.ensure_network(self.client, self.target)

    def ensure_router(self, initial: Callable[[], Routing]) -> None:
        self.router.ensure(initial)

    def routing(self) -> Routing | None:
        return self.router.routing()

    def marker(self) -> Routing | None:
        return self.router.marker()

    def apply(self, live: str | None, preview: str | None) -> Routing:
        return self.router.apply(live, preview)

    def healthy(self, side: Side) -> tuple[bool, str]:
        checks = probe.check_all(self.target, side)
        return all(c.ok for c in checks), "; ".join(str(c) for c in checks)

    def env_given(self, info: Info) -> tuple[list[str], list[str]]:
        attrs = self.client.api.inspect_container(info.id)
        image_env = self.client.api.inspect_image(attrs["Image"])["Config"].get("Env") or []
        return list(attrs["Config"].get("Env") or []), list(image_env)


def remove_colour(host: Host, log: Log, colour: str, why: str, stop_timeout: int | None = None) -> None:
    """Remove a colour's app containers, saying why; gracefully (the old colour drains) with a timeout."""
    for role, c in host.colours().of(colour).items():
        log(f"removing {colour} {role} ({c.name}): {why}")
        host.remove(c, stop_timeout)
    host.refresh()
