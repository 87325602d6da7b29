from __future__ import annotations

import json

from neosale_ci.report import RunReport, StageResult


def test_failed_run_names_stage_and_keeps_what_ran() -> None:
    r = RunReport("f" * 40)
    r.add(StageResult("lint (backend)", "passed", 1.3))
    r.add(StageResult("unit tests (frontend)", "failed", 3.0, "src/a.test.ts:12 expected 2 got 3"))
    r.add(StageResult("publish", "skipped", 0.0))
    data = json.loads(r.to_json())
    assert data["passed"] is False
    assert data["failed_stage"] == "unit tests (frontend)"
    assert [s["name"] for s in data["stages"]] == ["lint (backend)", "unit tests (frontend)", "publish"]
    md = r.to_markdown()
    assert "failed at **unit tests (frontend)**" in md
    assert "| lint (backend) | ✅ passed | 1.3s |" in md
    assert "src/a.test.ts:12 expected 2 got 3" in md


def test_passed_run_lists_artifacts() -> None:
    r = RunReport("a" * 40)
    r.add(StageResult("build (backend)", "passed", 2.0))
    r.artifacts["backend image"] = "127.0.0.1:5000/neosale/neosale-backend@sha256:" + "0" * 64
    md = r.to_markdown()
    assert "passed" in md.splitlines()[0]
    assert "neosale-backend@sha256:" in md
