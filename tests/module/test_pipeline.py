"""`pipeline` end to end on the real apps, through the client entry and the module."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from neosale_airgap.env import REPO_ROOT
from neosale_ci import Neosale

pytestmark = [pytest.mark.engine]


def test_pipeline_green_through_client_entry(image_set: dict[str, str], tmp_path: Path) -> None:
    password = "pw-" + secrets.token_hex(16)
    reports = tmp_path / "reports"
    env = {**os.environ, "NEOSALE_TEST_REGISTRY_PASSWORD": password}
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "neosale_ci",
            "pipeline",
            "--airgap",
            "--registry",
            "127.0.0.1:5000/neosale-test",
            "--username",
            "ci",
            "--password-env",
            "NEOSALE_TEST_REGISTRY_PASSWORD",
            "--reports",
            str(reports),
            "--end-to-end",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    report = json.loads((reports / "report.json").read_text())
    assert report["passed"] is True
    names = {s["name"] for s in report["stages"]}
    assert {
        "migration safety",
        "trivy gate (backend)",
        "publish (frontend)",
        "e2e (ephemeral stack)",
    } <= names
    junit = (reports / "e2e" / "junit.xml").read_text()
    assert 'failures="0"' in junit
    assert (reports / "e2e" / "html" / "index.html").is_file()
    assert report["artifacts"]["backend image"].startswith(
        "127.0.0.1:5000/neosale-test/neosale-backend@sha256:"
    )
    sarif = json.loads((reports / "trivy-backend.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    # The registry password reaches the engine as a secret and nothing else.
    files = [p for p in reports.rglob("*") if p.is_file()]
    everything = res.stdout + res.stderr + "".join(p.read_bytes().decode(errors="replace") for p in files)
    assert password not in everything


@pytest.mark.anyio
async def test_failed_pipeline_names_stage_and_keeps_reports(neosale: Neosale) -> None:
    neosale.source = neosale.source.with_new_file(
        "backend/src/planted.ts", "export const x: number = 'text';\n"
    )
    run = await neosale.pipeline(sha="f" * 40, created="2026-01-01T00:00:00Z")
    assert run.passed is False
    assert run.failed_stage == "typecheck (backend)"
    assert "planted.ts" in run.markdown
    assert "TS2322" in run.markdown
    data = json.loads(run.json)
    assert not any(s["name"].startswith("build") for s in data["stages"])  # stopped before builds
    assert any(s["name"] == "lint (frontend)" and s["status"] == "passed" for s in data["stages"])
    entries = await run.reports().entries()
    assert {"summary.md", "report.json"} <= set(entries)
