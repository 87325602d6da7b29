"""`run` on the real apps in client mode: what a failed run reports (the
official CLI runs it green in tests/cli/test_run.py)."""

from __future__ import annotations

import json

import pytest

from neosale_ci import Neosale

pytestmark = [pytest.mark.engine]


@pytest.mark.anyio
async def test_failed_pipeline_names_stage_and_keeps_reports(neosale: Neosale) -> None:
    neosale.source = neosale.source.with_new_file(
        "backend/src/planted.ts", "export const x: number = 'text';\n"
    )
    run = await neosale.run(sha="f" * 40, created="2026-01-01T00:00:00Z")
    assert run.passed is False
    assert run.failed_stage == "typecheck (backend)"
    assert "planted.ts" in run.markdown
    assert "TS2322" in run.markdown
    data = json.loads(run.json)
    assert not any(s["name"].startswith("build") for s in data["stages"])  # stopped before builds
    assert any(s["name"] == "lint (frontend)" and s["status"] == "passed" for s in data["stages"])
    entries = await run.reports().entries()
    assert {"summary.md", "report.json"} <= set(entries)
