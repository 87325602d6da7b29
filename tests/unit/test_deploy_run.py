"""A command's run without Docker: the ledger record after each phase, the log lines
the tests and operators read, and how a run ends when its body raises."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from neosale_deploy.errors import DeployError, LedgerError
from neosale_deploy.model import Target
from neosale_deploy.record import Kind, Phase, Result
from neosale_deploy.run import Run, hold_lock
from neosale_deploy.state import DirStore, Ledger


class Command:
    def __init__(self, tmp_path: Path) -> None:
        self.target = Target(project="p")
        self.ledger = Ledger(DirStore(str(tmp_path)))
        self.out = io.StringIO()

    def say(self, msg: str) -> None:
        self.out.write(msg + "\n")


class FakeLock:
    where = "the fake lock"

    def __init__(self) -> None:
        self.held: list[tuple[str, str]] = []
        self.released = 0

    def acquire(self, deploy_id: str, command: str) -> None:
        self.held.append((deploy_id, command))

    def release(self) -> None:
        self.released += 1


def test_each_phase_is_logged_and_saved_and_a_failed_one_keeps_its_error(tmp_path: Path) -> None:
    cmd = Command(tmp_path)
    run = Run(cmd, Kind.DEPLOY, approved_by="ana")
    with run.phase(Phase.IMAGES) as ph:
        ph["detail"] = "pulled"
    with pytest.raises(DeployError), run.phase(Phase.HEALTH):
        raise DeployError("blue backend is unhealthy")
    (rec,) = cmd.ledger.entries()
    assert rec.get("approved_by") == "ana"
    assert [(p.get("name"), p.get("ok"), p.get("error")) for p in rec.get("phases", [])] == [
        ("images", True, None),
        ("health", False, "blue backend is unhealthy"),
    ]
    lines = cmd.out.getvalue().splitlines()
    assert lines[0] == "phase images: start"
    assert lines[1].startswith("phase images: done in ")
    assert lines[1].endswith("s (pulled)")
    assert lines[3].startswith("phase health: FAILED after ")
    assert lines[3].endswith("blue backend is unhealthy")


@pytest.mark.parametrize(
    ("raised", "result"),
    [
        (DeployError("boom"), Result.FAILED),
        (KeyboardInterrupt(), Result.INTERRUPTED),
        (SystemExit(143), Result.INTERRUPTED),
    ],
)
def test_a_body_that_raises_ends_the_run_and_releases_the_lock(
    tmp_path: Path, raised: BaseException, result: Result
) -> None:
    cmd, lock = Command(tmp_path), FakeLock()
    run = Run(cmd, Kind.RECONCILE)

    def body() -> int:
        raise raised

    with pytest.raises(type(raised)):
        hold_lock(cmd, lock, run, body)
    (rec,) = cmd.ledger.entries()
    assert rec.get("result") == result
    assert [p.get("name") for p in rec.get("phases", [])] == ["lock"]
    assert lock.held == [(run.id, "reconcile")]
    assert lock.released == 1


def test_a_corrupted_ledger_line_is_not_written_next_to(tmp_path: Path) -> None:
    cmd, lock = Command(tmp_path), FakeLock()
    run = Run(cmd, Kind.DEPLOY)

    def fail() -> int:
        raise LedgerError("line 3 is corrupted")

    with pytest.raises(LedgerError):
        hold_lock(cmd, lock, run, fail, save_first=False)
    assert cmd.ledger.entries() == []
    assert lock.released == 1


def test_finish_records_the_result_and_says_it(tmp_path: Path) -> None:
    cmd = Command(tmp_path)
    run = Run(cmd, "rollback")
    run.finish(Result.SUCCESS, "live on blue again", colour_deploy_id="d1")
    (rec,) = cmd.ledger.entries()
    assert (rec.get("kind"), rec.get("result"), rec.get("colour_deploy_id")) == ("rollback", "success", "d1")
    assert cmd.out.getvalue() == f"rollback {run.id}: success: live on blue again\n"
