"""What the ledger says of the colours' deploys: only a completed release is a rollback
target or shows as LIVE; rollback takes the app env, and missing names are named without values."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from neosale_deploy.cli import _colour_mark, _target, build_parser
from neosale_deploy.record import LedgerRecord, Phase
from neosale_deploy.releases import (
    Release,
    env_names,
    missing_env,
    release_state,
    release_warning,
    rollback_target,
)

from .fakehost import V1, V2

PHASES: list[Phase] = [p for p in Phase if p not in (Phase.BACKUP, Phase.SWITCH_BACK, Phase.RESTORE)]


def rec(
    rid: str, digests: dict[str, str], result: str, upto: Phase = Phase.VERIFY, **extra: Any
) -> LedgerRecord:
    phases = [{"name": p, "ok": True} for p in PHASES[: PHASES.index(upto) + 1]]
    done = (
        {"colour_deploy_id": rid, "finished": f"2026-01-01T00:00:{rid[-2:]}Z"} if result == "success" else {}
    )
    return cast(
        LedgerRecord,
        {"id": rid, "kind": "deploy", "result": result, "phases": phases, **digests, **done, **extra},
    )


LEDGER = [
    rec("d01", V1, "success"),
    rec("d02", V2, "interrupted", upto=Phase.START_IDLE),
    rec("d03", V2, "running", upto=Phase.HEALTH),
]


def test_only_a_switched_and_verified_deploy_is_a_completed_release() -> None:
    assert release_state(LEDGER, "d01", V1) is Release.COMPLETED
    assert release_state(LEDGER, "d02", V2) is Release.INTERRUPTED
    # Unfinished: in progress while its holder may run, interrupted once it is gone.
    assert release_state(LEDGER, "d03", V2, holder="d03") is Release.IN_PROGRESS
    assert release_state(LEDGER, "d03", V2, holder=None) is Release.INTERRUPTED
    assert release_state([rec("d04", V2, "failed", upto=Phase.HEALTH)], "d04", V2) is Release.FAILED
    assert release_state(LEDGER, "d99", V1) is Release.UNKNOWN
    assert release_state(LEDGER, "", V1) is Release.UNKNOWN
    # A completed id running other digests is not that release.
    assert release_state(LEDGER, "d01", V2) is not Release.COMPLETED
    # A success without a verify (a no-op rerun) vouches for nothing of its own.
    noop = rec("d05", V2, "success", upto=Phase.RECONCILE, noop=True)
    assert release_state([noop], "d05", V2) is not Release.COMPLETED


def test_a_rollback_that_switched_and_verified_completes_the_colours_release() -> None:
    back = rec("r07", V1, "success", kind="rollback", colour_deploy_id="d01")
    assert release_state([back], "d01", V1) is Release.COMPLETED


def test_rollback_target_is_the_latest_completed_release_other_than_live() -> None:
    assert rollback_target(LEDGER, V1) is None  # the interrupted v2 is no target
    assert rollback_target(LEDGER, V2) == LEDGER[0]
    v0 = {"backend": V1["backend"][:-1] + "0", "frontend": V1["frontend"][:-1] + "0"}
    older = [rec("d00", v0, "success"), *LEDGER, rec("d08", V2, "success")]
    assert rollback_target(older, V2) == LEDGER[0]
    assert rollback_target(older, V1) == older[-1]


def test_missing_env_names_role_and_name_never_the_value() -> None:
    needed = {
        "backend": env_names(["DATABASE_URL=postgres://u:pw@db/x", "PORT=4000"]),
        "frontend": {"SESSION"},
    }
    given = {"backend": {"PORT": "4000"}, "frontend": {"SESSION": "s"}}
    assert missing_env(needed, given) == ["backend:DATABASE_URL"]
    assert missing_env(needed, {**given, "backend": {"PORT": "1", "DATABASE_URL": "d"}}) == []


def test_status_marks_an_unvetted_colour_as_such_and_warns() -> None:
    interrupted = {"deploy_id": "d02", "release": Release.INTERRUPTED.value}
    completed = {"deploy_id": "d01", "release": Release.COMPLETED.value}
    assert _colour_mark("blue", completed, "blue") == "LIVE"
    assert _colour_mark("green", interrupted, "blue") == "INTERRUPTED"
    assert _colour_mark("green", interrupted, "green") == "SERVING, INTERRUPTED"
    assert release_warning("blue", "d01", Release.COMPLETED, live=True) is None
    assert release_warning("green", "d03", Release.IN_PROGRESS, live=False) is None
    idle = release_warning("green", "d02", Release.INTERRUPTED, live=False)
    assert idle is not None
    assert "no rollback target" in idle
    live = release_warning("green", "d02", Release.INTERRUPTED, live=True)
    assert live is not None
    assert "takes live traffic" in live
    assert "`rollback`" in live


def test_rollback_takes_the_deploys_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("backend:DATABASE_URL=postgres://u:pw@db/neosale\n")
    target = _target(build_parser().parse_args(["rollback", "--env-file", str(env_file)]))
    assert target.roles["backend"].env["DATABASE_URL"] == "postgres://u:pw@db/neosale"
