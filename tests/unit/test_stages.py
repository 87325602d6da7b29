"""The stage runner: each stage recorded, the first failure stops the run."""

from __future__ import annotations

import anyio
import pytest

from neosale_ci.errors import StageError
from neosale_ci.report import RunReport
from neosale_ci.stages import Stages, Stopped

pytestmark = pytest.mark.anyio


async def _ok() -> int:
    return 42


async def _fails() -> int:
    raise StageError("lint", "2 problems")


async def test_a_passing_stage_returns_its_value_and_is_recorded() -> None:
    stages = Stages(RunReport("a" * 40))
    assert await stages.run("lint", _ok) == 42
    assert [(s.name, s.status) for s in stages.report.stages] == [("lint", "passed")]


async def test_a_failing_stage_is_recorded_with_its_message_and_stops() -> None:
    stages = Stages(RunReport("a" * 40))
    with pytest.raises(Stopped) as stop:
        await stages.run("lint", _fails)
    assert stop.value.stage == "lint"
    [result] = stages.report.stages
    assert (result.name, result.status, result.detail) == ("lint", "failed", "2 problems")
    assert stages.report.failed_stage is result


async def test_together_runs_every_branch_to_its_end_then_stops() -> None:
    stages = Stages(RunReport("a" * 40))
    finished: list[str] = []

    async def slow() -> None:
        await anyio.sleep(0.05)
        finished.append("slow")

    with pytest.raises(Stopped) as stop:
        await stages.together(stages.named("typecheck", _fails), stages.named("tests", slow))
    assert stop.value.stage == "typecheck"
    assert finished == ["slow"], "a failed branch does not cut the others short"
    assert {(s.name, s.status) for s in stages.report.stages} == {
        ("typecheck", "failed"),
        ("tests", "passed"),
    }


async def test_together_passes_when_every_branch_passed() -> None:
    stages = Stages(RunReport("a" * 40))
    await stages.together(stages.named("a", _ok), stages.named("b", _ok))
    assert stages.report.passed
