"""An E2E run's exported report.json and summary.md: scripts/verdict.sh gates
on them, so CI takes the verdict of the one run it uploaded, never a rerun."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from dagger import dag

from neosale_ci.e2e import EndToEndRun

VERDICT_SH = Path(__file__).resolve().parents[2] / "scripts" / "verdict.sh"
URL = "https://staging.example.com"
BROKEN = "checkout.spec.ts > pays by card: expected 200, got 502"


def _run(passed: bool) -> EndToEndRun:
    return EndToEndRun(
        passed=passed,
        base_url=URL,
        tests=4,
        failed=[] if passed else [BROKEN],
        output="",
        report=dag.directory(),  # lazy: nothing here reads it
        seconds=12.5,
        revision="c" * 40,
    )


def _export(run: EndToEndRun, dest: Path) -> Path:
    report = run.run_report()
    (dest / "report.json").write_text(report.to_json())
    (dest / "summary.md").write_text(report.to_markdown())
    return dest


def test_the_report_is_a_one_stage_run_report() -> None:
    data = json.loads(_run(False).run_report().to_json())
    assert data["revision"] == "c" * 40
    assert data["passed"] is False
    assert data["failed_stage"] == f"e2e ({URL})"
    assert data["stages"] == [
        {"name": f"e2e ({URL})", "status": "failed", "seconds": 12.5, "detail": data["stages"][0]["detail"]}
    ]
    assert BROKEN in data["stages"][0]["detail"]
    assert "1 of 4 journeys failed" in data["stages"][0]["detail"]


@pytest.mark.parametrize("passed", [True, False])
def test_verdict_gates_on_the_exported_e2e_report(tmp_path: Path, passed: bool) -> None:
    res = subprocess.run(
        ["bash", str(VERDICT_SH), str(_export(_run(passed), tmp_path))], capture_output=True, text=True
    )
    assert f"| e2e ({URL}) |" in res.stdout  # the summary, printed
    if passed:
        assert res.returncode == 0, res.stderr
        assert "verdict: passed" in res.stdout
    else:
        assert res.returncode == 1
        assert f"verdict: failed at e2e ({URL})" in res.stderr
        assert BROKEN in res.stdout  # the failed journey, in the summary's failure section
