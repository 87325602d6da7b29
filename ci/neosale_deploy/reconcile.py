"""Reconcile: converge after whatever happened before (a crash at any phase, a hand
edit, a dead colour). The decisions are pure functions of the ledger and the
colour view; `Reconciler` carries them out on a `Host`."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from neosale_deploy.colours import Colours
from neosale_deploy.errors import DeployError
from neosale_deploy.host import Host, Log, remove_colour
from neosale_deploy.model import COLOURS, Target, other_colour
from neosale_deploy.probe import Side
from neosale_deploy.record import LedgerRecord, Result, ok_phases, parse_iso
from neosale_deploy.routerconf import Routing
from neosale_deploy.state import Ledger


def interruption(rec: LedgerRecord, run_id: str) -> str | None:
    """Where another command's unfinished record stopped; None when it is not one."""
    if rec.get("result") != Result.RUNNING or rec["id"] == run_id:
        return None
    # The ledger is written when a phase ends: the crash was in the phase after.
    done = ok_phases(rec)
    return f"after phase {done[-1]}" if done else "before its first phase"


def successful_ids(entries: Iterable[LedgerRecord]) -> set[str]:
    """Deploy ids whose containers were once live and healthy: those may be kept warm."""
    return {
        str(e["colour_deploy_id"])
        for e in entries
        if e.get("result") == Result.SUCCESS and e.get("colour_deploy_id")
    }


def last_success(entries: Iterable[LedgerRecord]) -> LedgerRecord | None:
    done = [e for e in entries if e.get("result") == Result.SUCCESS and e.get("finished")]
    return max(done, key=lambda e: str(e["finished"])) if done else None


def vetted(colours: Colours, colour: str, ok_ids: set[str]) -> bool:
    """The colour runs containers a successful command once made live."""
    return colours.running(colour) and colours.deploy_id(colour) in ok_ids


def initial_routing(colours: Colours, ok_ids: set[str], last: LedgerRecord | None) -> Routing:
    """A new router's routing: the last live colour if it still runs, else any vetted one."""
    preferred = [str(last.get("colour"))] if last else []
    for colour in [*preferred, *COLOURS]:
        if vetted(colours, colour, ok_ids):
            return Routing(colour, other_colour(colour))
    return Routing(None, COLOURS[0])


def retain_over(last: LedgerRecord | None, retain_seconds: float, now: float) -> bool:
    """The previous live colour has been kept warm long enough."""
    return last is not None and now > parse_iso(str(last["finished"])) + retain_seconds


@dataclass(frozen=True)
class Removal:
    colour: str
    why: str
    graceful: bool = False


def idle_removal(
    colours: Colours, colour: str, live: str | None, ok_ids: set[str], expired: bool, retain: float
) -> Removal | None:
    """Whether an idle colour goes: half-started or stopped, or warm once retain is over."""
    if colour == live or not colours.of(colour):
        return None
    if colours.deploy_id(colour) not in ok_ids:
        return Removal(colour, "half-started by an interrupted or failed deploy")
    if not colours.running(colour):
        return Removal(colour, "not running")
    if expired:
        return Removal(colour, f"retain period of {retain:.0f}s is over", graceful=True)
    return None


@dataclass(frozen=True)
class Reconciler:
    host: Host
    ledger: Ledger
    target: Target
    log: Log

    def __call__(self, run_id: str) -> Routing:
        """Converge; returns the routing now in force."""
        host, t = self.host, self.target
        host.refresh()
        entries = self.ledger.entries()
        self._close_interrupted(entries, run_id)
        self._remove_one_offs()
        host.ensure_network()
        ok_ids, last = successful_ids(entries), last_success(entries)
        host.ensure_router(lambda: initial_routing(host.colours(), ok_ids, last))
        routing = self._routing()
        live = routing.live
        if live is not None:
            routing, live = self._fail_over(routing, live, ok_ids)
        expired = retain_over(last, t.retain_seconds, time.time())
        for colour in COLOURS:  # each asked of the containers as they are after the last removal
            r = idle_removal(host.colours(), colour, live, ok_ids, expired, t.retain_seconds)
            if r is not None:
                remove_colour(host, self.log, r.colour, r.why, t.stop_timeout if r.graceful else None)
        idle = other_colour(live) if live else COLOURS[0]
        if routing.live != live or routing.preview != idle or routing.drift:
            routing = host.apply(live, idle)
        return routing

    def _close_interrupted(self, entries: list[LedgerRecord], run_id: str) -> None:
        for e in entries:
            where = interruption(e, run_id)
            if where is not None:
                e.update(
                    {
                        "result": Result.INTERRUPTED,
                        "reason": f"the deployer stopped {where}; found by {run_id}",
                    }
                )
                self.ledger.write(e)
                self.log(f"{e.get('kind', 'deploy')} {e['id']} was interrupted {where}")

    def _remove_one_offs(self) -> None:
        for c in self.host.colours().one_offs():
            if c.state == "running":
                # A migration or backup of a dead deployer: let it end rather than cut it.
                self.log(f"waiting for leftover one-off {c.name} to finish")
                self.host.wait(c, self.target.migrate_timeout)
            self.log(f"removing leftover one-off container {c.name}")
            self.host.remove(c)

    def _routing(self) -> Routing:
        routing = self.host.routing()
        if routing is None:
            raise DeployError(f"router {self.target.names.router} has no readable upstream.conf")
        if routing.drift:
            self.log(f"{routing.drift}; live traffic is on {routing.live or 'none'}, which stays live")
        return routing

    def _fail_over(self, routing: Routing, live: str, ok_ids: set[str]) -> tuple[Routing, str]:
        """An unhealthy live colour hands traffic to the other one if that is vetted and healthy."""
        host = self.host
        ok, detail = host.healthy(Side.LIVE)
        if ok and host.colours().running(live):
            return routing, live
        self.log(f"live colour {live} is not healthy: {detail}")
        alt = other_colour(live)
        alt_ok = vetted(host.colours(), alt, ok_ids)
        if alt_ok and routing.preview != alt:
            routing = host.apply(live, alt)
        if alt_ok and host.healthy(Side.PREVIEW)[0]:
            self.log(f"switching live traffic to healthy colour {alt}")
            return host.apply(alt, live), alt
        self.log(f"no healthy colour to switch to; live stays {live}")
        return routing, live
