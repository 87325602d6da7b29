"""The read-only view `status` prints: router, routing, each colour's release and
health, the lock's holder, the last ledger records. It creates nothing."""

from __future__ import annotations

import json
from typing import Any

from neosale_deploy import dockerhost as dh
from neosale_deploy.colours import Colours
from neosale_deploy.host import DockerHost
from neosale_deploy.model import COLOURS, LABEL_LOCK, Target
from neosale_deploy.probe import Side
from neosale_deploy.record import LedgerRecord
from neosale_deploy.releases import Release, release_warning
from neosale_deploy.rollback import release_of
from neosale_deploy.routerconf import Routing
from neosale_deploy.state import holder_is_stale

View = dict[str, Any]
_SUMMARY = ("id", "kind", "time", "result", "reason", "colour", "backend", "frontend", "approved_by")


def summary(e: LedgerRecord) -> View:
    return {k: v for k in _SUMMARY if (v := e.get(k)) is not None}


def warnings(colours: View, live: str | None) -> list[str]:
    return [
        w
        for colour, info in colours.items()
        if (w := release_warning(colour, info["deploy_id"], Release(info["release"]), colour == live))
    ]


def colour_containers(colours: Colours, colour: str) -> View:
    return {r: {"name": c.name, "state": c.state, "health": c.health} for r, c in colours.of(colour).items()}


class StatusView:
    def __init__(self, host: DockerHost, target: Target) -> None:
        self.host = host
        self.target = target

    def __call__(self, entries: list[LedgerRecord]) -> View:
        t = self.target
        router = self.host.router.container()
        routing = self.host.routing()
        held = self._lock()
        # A deploy whose holder may still run is in progress; anyone else's unfinished one was interrupted.
        holder = None if held is None or holder_is_stale(held, t.lock_ttl) else str(held.get("id"))
        colours = {c: self._colour(c, routing, entries, holder) for c in COLOURS if self.host.colours().of(c)}
        live = None if routing is None else routing.live
        return {
            "project": t.project,
            "host": t.docker_host,
            "router": None if router is None else {"name": router.name, "state": dh.state(router)},
            "live": live,
            "router_drift": None if routing is None else routing.drift or None,
            "preview": None if routing is None else routing.preview,
            "live_url": t.live_url,
            "preview_url": t.preview_url,
            "colours": colours,
            "warnings": warnings(colours, live),
            "lock": held,
            "last": [summary(e) for e in entries[-5:]],
        }

    def _lock(self) -> dict[str, Any] | None:
        lock = dh.get_container(self.host.client, self.target.names.lock)
        return None if lock is None else dict(json.loads(dh.label(lock, LABEL_LOCK) or "{}"))

    def _colour(
        self, colour: str, routing: Routing | None, entries: list[LedgerRecord], holder: str | None
    ) -> View:
        colours = self.host.colours()
        info: View = {
            "deploy_id": colours.deploy_id(colour),
            "release": release_of(colours, colour, entries, holder).value,
            "containers": colour_containers(colours, colour),
            "images": colours.digests(colour),
        }
        if routing is not None and colour in (routing.live, routing.preview):
            side = Side.LIVE if colour == routing.live else Side.PREVIEW
            info["http_ok"], info["http"] = self.host.healthy(side)
        return info
