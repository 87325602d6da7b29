"""Rollback's decisions against an in-memory host: switch back only to a warm completed
release; otherwise redeploy the last completed one, refused (nothing changed) when
there is none or when the env live runs with has no value."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, cast

import pytest

from neosale_deploy.errors import DeployError, UsageError
from neosale_deploy.model import App, Target
from neosale_deploy.record import LedgerRecord
from neosale_deploy.rollback import redeploy_plan, redeploy_target, switchable, warm_release
from neosale_deploy.routerconf import Routing

from .fakehost import FakeHost

V1 = {"backend": "reg/app@sha256:" + "1" * 64, "frontend": "reg/web@sha256:" + "1" * 64}
V2 = {"backend": "reg/app@sha256:" + "2" * 64, "frontend": "reg/web@sha256:" + "2" * 64}
V3 = {"backend": "reg/app@sha256:" + "3" * 64, "frontend": "reg/web@sha256:" + "3" * 64}


def done(rid: str, digests: dict[str, str], finished: str, **extra: Any) -> LedgerRecord:
    phases = [{"name": "switch", "ok": True}, {"name": "verify", "ok": True}]
    fields = {"result": "success", "colour_deploy_id": rid, "finished": finished, "phases": phases}
    return cast(LedgerRecord, {"id": rid, "kind": "deploy", **fields, **digests, **extra})


LEDGER = [done("d1", V1, "2026-01-01T00:00:01Z"), done("d2", V2, "2026-01-01T00:00:02Z")]


def hosts() -> FakeHost:
    host = FakeHost(router=Routing("green", "blue"))
    host.add_colour("blue", "d1", V1)
    host.add_colour("green", "d2", V2)
    return host


def test_the_warm_previous_colour_of_a_completed_release_is_switchable() -> None:
    host = hosts()
    assert switchable(host.router, host.colours(), LEDGER) == "blue"
    assert warm_release(host.colours(), "green", LEDGER)
    # Not behind the preview port, not in the ledger, no router: not at once.
    assert switchable(Routing("green", None), host.colours(), LEDGER) is None
    assert switchable(host.router, host.colours(), LEDGER[1:]) is None
    assert switchable(None, host.colours(), LEDGER) is None
    stopped = FakeHost(router=Routing("green", "blue"))
    stopped.add_colour("blue", "d1", V1, state="exited")
    assert switchable(stopped.router, stopped.colours(), LEDGER) is None


def test_a_gone_colour_is_redeployed_from_the_latest_other_completed_release() -> None:
    host = FakeHost(router=Routing("green", "blue"))
    host.add_colour("green", "d3", V3)
    ledger = [*LEDGER, done("d3", V3, "2026-01-01T00:00:03Z")]
    assert redeploy_target(host.colours(), "green", ledger)["id"] == "d2"
    # The live release itself is never the target.
    host = FakeHost(router=Routing("green", "blue"))
    host.add_colour("green", "d2", V2)
    assert redeploy_target(host.colours(), "green", LEDGER)["id"] == "d1"


def test_nothing_to_roll_back_to_names_the_unvetted_idle_colour() -> None:
    host = FakeHost(router=Routing("blue", "green"))
    host.add_colour("blue", "d1", V1)
    host.add_colour("green", "d2", V2)
    interrupted = cast(LedgerRecord, {"id": "d2", "result": "interrupted", **V2})
    with pytest.raises(DeployError) as exc:
        redeploy_target(host.colours(), "blue", [LEDGER[0], interrupted])
    assert str(exc.value) == (
        "nothing to roll back to: live blue runs the only completed release in the ledger; "
        "green holds deploy d2 (interrupted), never vetted live; live traffic stays on blue"
    )


def test_a_redeploy_without_the_env_live_runs_with_is_refused_naming_only_names() -> None:
    host = FakeHost(router=Routing("green", "blue"))
    host.add_colour("green", "d2", V2)
    host.env = {App.BACKEND: (["PATH=/bin", "API_TOKEN=s3cret-value", "PORT=4000"], ["PATH=/bin"])}
    target = Target(project="p")
    with pytest.raises(UsageError) as exc:
        redeploy_plan(host, target, "green", LEDGER)
    assert "no value is given for backend:API_TOKEN, which live green runs with" in str(exc.value)
    assert "s3cret" not in str(exc.value)
    roles = dict(target.roles)
    roles[App.BACKEND] = replace(roles[App.BACKEND], env={"API_TOKEN": "other"})
    assert redeploy_plan(host, replace(target, roles=roles), "green", LEDGER)["id"] == "d1"
