"""Reconcile's decisions against an in-memory host (tests/unit/fakehost.py): what is
closed, removed and switched after a crash, a dead colour or an expired retain."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from neosale_deploy.colours import Colours
from neosale_deploy.errors import DeployError
from neosale_deploy.model import Target
from neosale_deploy.reconcile import (
    Reconciler,
    Removal,
    idle_removal,
    initial_routing,
    interruption,
    retain_over,
)
from neosale_deploy.record import LedgerRecord
from neosale_deploy.routerconf import Routing
from neosale_deploy.state import DirStore, Ledger

from .fakehost import V1, V2, FakeHost


def rec(
    rid: str, result: str, colour: str = "blue", finished: str = "2026-01-01T00:00:00Z", **extra: Any
) -> LedgerRecord:
    done = {"colour_deploy_id": rid, "finished": finished, "colour": colour} if result == "success" else {}
    phases = [{"name": "lock", "ok": True}, {"name": "reconcile", "ok": True}]
    return cast(
        LedgerRecord, {"id": rid, "kind": "deploy", "result": result, "phases": phases, **done, **extra}
    )


def setup(
    tmp_path: Path, host: FakeHost, *records: LedgerRecord, **target: Any
) -> tuple[Reconciler, Ledger, list[str]]:
    ledger = Ledger(DirStore(str(tmp_path)))
    for r in records:
        ledger.write(r)
    said: list[str] = []
    return Reconciler(host, ledger, Target(project="p", **target), said.append), ledger, said


def test_an_unfinished_record_of_another_run_says_where_it_stopped() -> None:
    assert interruption(rec("d1", "running"), "d2") == "after phase reconcile"
    assert interruption(cast(LedgerRecord, {"id": "d1", "result": "running", "phases": []}), "d2") == (
        "before its first phase"
    )
    assert interruption(rec("d1", "running"), "d1") is None  # our own
    assert interruption(rec("d1", "failed"), "d2") is None


def test_a_crash_is_closed_in_the_ledger_and_its_one_off_finishes_before_removal(tmp_path: Path) -> None:
    host = FakeHost(router=Routing("blue", "green"), healthy_colours={"blue"})
    host.add_colour("blue", "d1", V1)
    host.add_colour("green", "d2", V2, state="created")  # the crashed deploy's colour
    host.add_one_off("migrate", "running")
    reconcile, ledger, said = setup(tmp_path, host, rec("d1", "success"), rec("d2", "running"))
    assert reconcile("d3") == Routing("blue", "green")
    closed = {e["id"]: e for e in ledger.entries()}["d2"]
    assert closed.get("result") == "interrupted"
    assert closed.get("reason") == "the deployer stopped after phase reconcile; found by d3"
    assert host.calls[:2] == [("wait", "p-migrate-x"), ("remove", "p-migrate-x", None)]
    assert host.names() == {"p-blue-backend", "p-blue-frontend"}
    assert "deploy d2 was interrupted after phase reconcile" in said


def test_a_new_router_routes_to_the_last_live_colour_only_if_it_was_vetted() -> None:
    host = FakeHost()
    host.add_colour("blue", "d1", V1)
    host.add_colour("green", "d2", V2)
    last = rec("d2", "success", colour="green")
    assert initial_routing(host.colours(), {"d1", "d2"}, last) == Routing("green", "blue")
    assert initial_routing(host.colours(), {"d1"}, last) == Routing("blue", "green")
    assert initial_routing(host.colours(), set(), None) == Routing(None, "blue")


def test_an_unhealthy_live_colour_hands_over_to_a_vetted_healthy_one(tmp_path: Path) -> None:
    host = FakeHost(router=Routing("blue", None), healthy_colours={"green"})
    host.add_colour("blue", "d2", V2)
    host.add_colour("green", "d1", V1)
    reconcile, _, said = setup(tmp_path, host, rec("d1", "success", "green"), rec("d2", "success", "blue"))
    assert reconcile("d3") == Routing("green", "blue")
    assert [c for c in host.calls if c[0] == "apply"] == [
        ("apply", "blue", "green"),
        ("apply", "green", "blue"),
    ]
    assert "switching live traffic to healthy colour green" in said


def test_an_unvetted_idle_colour_never_takes_traffic_and_is_removed(tmp_path: Path) -> None:
    host = FakeHost(router=Routing("blue", "green"), healthy_colours={"green"})
    host.add_colour("blue", "d1", V1)
    host.add_colour("green", "d2", V2)  # healthy, but its deploy was interrupted
    reconcile, _, said = setup(tmp_path, host, rec("d1", "success"), rec("d2", "interrupted"))
    assert reconcile("d3") == Routing("blue", "green")
    assert "no healthy colour to switch to; live stays blue" in said
    assert ("remove", "p-green-backend", None) in host.calls
    assert not host.colours().of("green")


def test_the_warm_colour_goes_gracefully_once_retain_is_over(tmp_path: Path) -> None:
    host = FakeHost(router=Routing("green", "blue"), healthy_colours={"green", "blue"})
    host.add_colour("blue", "d1", V1)
    host.add_colour("green", "d2", V2)
    records = (rec("d1", "success"), rec("d2", "success", "green", finished="2026-01-01T00:10:00Z"))
    reconcile, _, _ = setup(tmp_path, host, *records, retain_seconds=60.0, stop_timeout=7)
    reconcile("d3")
    assert ("remove", "p-blue-backend", 7) in host.calls
    assert retain_over(records[1], 600.0, 1767225600.0 + 1201) is True
    assert retain_over(records[1], 600.0, 1767225600.0 + 1200) is False
    assert retain_over(None, 0.0, 2e9) is False


def test_an_idle_colour_is_removed_only_for_a_reason_it_names() -> None:
    host = FakeHost()
    host.add_colour("green", "d2", V2, state="exited")
    colours = Colours(tuple(host.containers))
    assert idle_removal(colours, "green", "blue", {"d2"}, False, 60) == Removal("green", "not running")
    assert idle_removal(colours, "green", "blue", set(), False, 60) == Removal(
        "green", "half-started by an interrupted or failed deploy"
    )
    assert idle_removal(colours, "green", "green", set(), True, 60) is None  # live stays
    assert idle_removal(colours, "blue", None, set(), True, 60) is None  # nothing there


def test_a_hand_edited_upstream_is_rewritten_for_the_colour_nginx_serves(tmp_path: Path) -> None:
    host = FakeHost(router=Routing("blue", "green", drift="upstream.conf edited"), healthy_colours={"blue"})
    host.add_colour("blue", "d1", V1)
    reconcile, _, said = setup(tmp_path, host, rec("d1", "success"))
    assert reconcile("d3") == Routing("blue", "green")
    assert host.calls[-1] == ("apply", "blue", "green")
    assert "upstream.conf edited; live traffic is on blue, which stays live" in said


def test_a_router_without_a_readable_upstream_stops_reconcile(tmp_path: Path) -> None:
    class Unreadable(FakeHost):
        def routing(self) -> Routing | None:
            return None

    reconcile, _, _ = setup(tmp_path, Unreadable(router=Routing(None, "blue")))
    with pytest.raises(DeployError, match=r"router p-router has no readable upstream\.conf"):
        reconcile("d3")
