"""ci.yml run for real by a GitHub Actions runner: scripts/rehearse.sh (nektos/act).

One rehearsal of a push to main: act runs the job on this machine, the
pinned dagger-for-github action finds the official CLI on PATH and runs the
workflow's `dagger call run …` against the local engine with the stand-in
images from the generated .env, upload-artifact (rebuilt from the actions
mirror) sends the reports to act's artifact server on 127.0.0.1, and the
Verdict step reads them. Only GitHub's own services are left out, and the
rehearsal lists the steps it skipped for that (`!env.ACT`).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.workflows.gha import REPO_ROOT, WORKFLOW_DIR, jobs, load
from tests.workflows.rehearsal import SCRIPTS, Rehearsal, github_only, rehearse


@pytest.fixture(scope="module")
def ci_rehearsal(tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    return rehearse("ci", "push", tmp_path_factory.mktemp("rehearsal-ci"))


def ci_steps() -> list[dict[str, Any]]:
    steps = jobs(load(WORKFLOW_DIR / "ci.yml"))["pipeline"]["steps"]
    assert isinstance(steps, list)
    return steps


@pytest.mark.engine
def test_the_job_succeeds_with_every_step_run(ci_rehearsal: Rehearsal) -> None:
    outcome = ci_rehearsal.outcome
    assert ci_rehearsal.returncode == 0, json.dumps(outcome, indent=1)
    assert outcome["exit_code"] == 0
    assert outcome["jobs"] == {"pipeline": "success"}
    ran = ci_rehearsal.results("pipeline")
    expected = [(s["name"], "skipped" if github_only(s) else "success") for s in ci_steps()]
    assert ran == expected


@pytest.mark.engine
def test_the_skipped_list_names_exactly_the_github_only_steps(ci_rehearsal: Rehearsal) -> None:
    expected = [s["name"] for s in ci_steps() if github_only(s)]
    assert [s["step"] for s in ci_rehearsal.outcome["skipped_under_act"]] == expected


@pytest.mark.engine
def test_the_reports_reach_the_artifact_server_and_passed(ci_rehearsal: Rehearsal) -> None:
    reports = ci_rehearsal.out / "artifacts" / "reports-ci"
    report = json.loads((reports / "report.json").read_text())
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True)
    assert report["revision"] == head.stdout.strip()
    assert report["passed"] is True, report["failed_stage"]
    stages = {s["name"]: s["status"] for s in report["stages"]}
    assert set(stages.values()) == {"passed"}, stages
    assert {"lint (backend)", "build (frontend)", "trivy gate (backend)", "e2e (ephemeral stack)"} <= set(
        stages
    )
    assert (reports / "summary.md").is_file()


@pytest.mark.engine
def test_the_runner_used_this_machine_and_loopback_only(ci_rehearsal: Rehearsal) -> None:
    messages = [str(line.get("msg", "")) for line in ci_rehearsal.act_lines()]
    # dagger-for-github found the pinned CLI on PATH instead of downloading one.
    assert any("dagger v0.21.8 is already installed, skipping installation" in m for m in messages)
    # The artifact server listened on loopback, nowhere else.
    servers = [m for m in messages if m.startswith("Start server on ")]
    assert servers
    assert all(m.startswith("Start server on http://127.0.0.1:") for m in servers), servers


def test_an_unknown_workflow_is_refused_by_name() -> None:
    out = subprocess.run(
        ["bash", str(SCRIPTS / "rehearse.sh"), "deploy-all"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 1
    assert "no workflow deploy-all: expected one of ci.yml delivery.yml rollback.yml" in out.stderr


def test_a_missing_actions_mirror_is_refused_by_name(tmp_path: Path) -> None:
    env = {**os.environ, "NEOSALE_ACTIONS_MIRROR": str(tmp_path / "absent")}
    out = subprocess.run(
        ["bash", str(SCRIPTS / "act.sh"), "--actions"], env=env, capture_output=True, text=True, timeout=900
    )
    assert out.returncode == 1
    assert f"NEOSALE_ACTIONS_MIRROR={tmp_path / 'absent'} is not a folder" in out.stderr
