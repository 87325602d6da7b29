"""An in-memory `Host` (neosale_deploy/host.py): the containers, the router's routing and
the probes' answers as plain state, so reconcile and rollback decisions run without
Docker. The same decisions run against the real engine in tests/deploy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from neosale_deploy.colours import Colours, Info
from neosale_deploy.model import LABEL_COLOUR, LABEL_DEPLOY_ID, LABEL_IMAGE, LABEL_ROLE, ROLES
from neosale_deploy.probe import Side
from neosale_deploy.routerconf import Routing

# Two releases' digests, by role, for colours and ledger records.
V1 = {"backend": "reg/app@sha256:" + "1" * 64, "frontend": "reg/web@sha256:" + "1" * 64}
V2 = {"backend": "reg/app@sha256:" + "2" * 64, "frontend": "reg/web@sha256:" + "2" * 64}


@dataclass
class FakeHost:
    containers: list[Info] = field(default_factory=list)
    # The router's upstream.conf (None: no router yet), and which colours answer healthy.
    router: Routing | None = None
    healthy_colours: set[str] = field(default_factory=set)
    env: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)
    # What was done, in order: ("remove", name, stop_timeout), ("apply", live, preview), ...
    calls: list[tuple[object, ...]] = field(default_factory=list)

    def add_colour(
        self, colour: str, deploy_id: str, digests: dict[str, str], state: str = "running"
    ) -> None:
        for role in ROLES:
            labels = {
                LABEL_COLOUR: colour,
                LABEL_ROLE: role,
                LABEL_DEPLOY_ID: deploy_id,
                LABEL_IMAGE: digests[role],
            }
            self.containers.append(Info(f"id-{colour}-{role}", f"p-{colour}-{role}", labels, state, None))

    def add_one_off(self, role: str, state: str) -> None:
        self.containers.append(Info(f"id-{role}", f"p-{role}-x", {LABEL_ROLE: role}, state, None))

    def names(self) -> set[str]:
        return {c.name for c in self.containers}

    def colours(self) -> Colours:
        return Colours(tuple(self.containers))

    def refresh(self) -> None:
        pass

    def remove(self, info: Info, stop_timeout: int | None = None) -> None:
        self.calls.append(("remove", info.name, stop_timeout))
        self.containers = [c for c in self.containers if c.id != info.id]

    def wait(self, info: Info, timeout: float) -> None:
        self.calls.append(("wait", info.name))

    def ensure_network(self) -> None:
        self.calls.append(("network",))

    def ensure_router(self, initial: Callable[[], Routing]) -> None:
        if self.router is None:
            self.router = initial()
            self.calls.append(("router", self.router.live, self.router.preview))

    def routing(self) -> Routing | None:
        return self.router

    def marker(self) -> Routing | None:
        return self.router

    def apply(self, live: str | None, preview: str | None) -> Routing:
        self.router = Routing(live, preview)
        self.calls.append(("apply", live, preview))
        return self.router

    def healthy(self, side: Side) -> tuple[bool, str]:
        routing = self.router or Routing(None, None)
        colour = routing.live if side is Side.LIVE else routing.preview
        ok = colour is not None and colour in self.healthy_colours
        return ok, f"{side} {colour}: {'ok' if ok else 'down'}"

    def env_given(self, info: Info) -> tuple[list[str], list[str]]:
        return self.env.get(info.label(LABEL_ROLE), ([], []))
