"""Delivery defects, read from the workflow YAML and, where a step is a
script, by running that script: one E2E run gates production, production is
smoke-tested and rolled back by itself, a rollback is never held behind an
approval, and the approval and digests are read from the right fields.

GitHub's approvals API cannot exist here: a payload of its documented shape
stands in for it (test_the_approver_is_the_production_reviewer).
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest

from neosale_ci.context import App
from neosale_ci.publish import PublishedImage
from neosale_ci.report import RunReport
from tests.workflows.gha import (
    REPO_ROOT,
    DaggerCall,
    all_dagger_calls,
    function_words,
    is_dagger_action,
    jobs,
    steps,
    workflows,
)

WORKFLOWS = workflows()
DELIVERY = jobs(WORKFLOWS["delivery.yml"])
ROLLBACK = jobs(WORKFLOWS["rollback.yml"])["rollback"]
# Functions that observe a live system or push: never cached, so a second
# call in a job is a second run with its own result.
OBSERVATIONS = {"run", "end-to-end", "smoke"}
DIGEST = "sha256:" + "0123456789abcdef" * 4


def _step(job: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in steps(job) if s.get("name") == name)


def _args(step: dict[str, Any]) -> str:
    return " ".join(str((step.get("with") or {}).get("args", "")).split())


# --- one run, one verdict ------------------------------------------------------


def _calls_by_job() -> list[Any]:
    by_job: dict[str, list[DaggerCall]] = {}
    for call in all_dagger_calls():
        by_job.setdefault(f"{call.workflow}:{call.job}", []).append(call)
    return [pytest.param(calls, id=where) for where, calls in by_job.items()]


@pytest.mark.parametrize("calls", _calls_by_job())
def test_no_job_runs_an_observation_twice(calls: list[DaggerCall]) -> None:
    """A verdict from a second run gates on a run nobody uploaded (and `run` pushes twice)."""
    names = [c.function for c in calls if c.function in OBSERVATIONS]
    assert len(names) == len(set(names)), [c.id for c in calls]


def test_every_exported_run_is_gated_by_its_own_report() -> None:
    """`… reports export --path DIR` is followed, in its job, by scripts/verdict.sh DIR."""
    exports = [c for c in all_dagger_calls() if function_words(c.argv)[-2:] == ["reports", "export"]]
    assert {(c.workflow, c.job, c.function) for c in exports} >= {
        ("delivery.yml", "build", "run"),
        ("delivery.yml", "staging", "end-to-end"),
    }
    for call in exports:
        path = call.argv[call.argv.index("--path") + 1]
        job = steps(jobs(WORKFLOWS[call.workflow])[call.job])
        at = next(i for i, s in enumerate(job) if s.get("name") == call.step)
        later = [str(s.get("run", "")) for s in job[at + 1 :]]
        assert f"bash scripts/verdict.sh {path}" in later, call.id


def test_staging_e2e_verdict_reads_the_export_it_uploads() -> None:
    staging = DELIVERY["staging"]
    names = [str(s.get("name")) for s in steps(staging)]
    e2e, upload, verdict = (
        names.index(n) for n in ("E2E reports", "Upload E2E reports (JUnit, HTML)", "E2E verdict")
    )
    assert e2e < upload < verdict
    assert "--sha ${{ github.sha }}" in _args(steps(staging)[e2e])  # the report names the commit
    assert steps(staging)[upload]["with"]["path"] == "reports/e2e/"
    assert steps(staging)[verdict]["run"] == "bash scripts/verdict.sh reports/e2e"


# --- the published digests -----------------------------------------------------


def _run_script(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True)


def _published_report(tmp_path: Path, images: list[PublishedImage]) -> Path:
    report = RunReport("a" * 40)
    report.images += images
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "report.json").write_text(report.to_json())
    return tmp_path


def _image(app: App) -> PublishedImage:
    repo = f"ghcr.io/acme/neosale-{app.value}"
    return PublishedImage(app=app, repository=repo, digest=DIGEST, tags=["a" * 40])


def test_published_digests_are_read_from_the_images_block(tmp_path: Path) -> None:
    """The step's own script on a report.json generated from PublishedImage values."""
    script = str(_step(DELIVERY["build"], "Published digests")["run"])
    cwd = _published_report(tmp_path, [_image(App.backend), _image(App.frontend)])
    out = tmp_path / "github_output"
    res = _run_script(script, cwd, {"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(out)})
    assert res.returncode == 0, res.stdout + res.stderr
    assert out.read_text().splitlines() == [
        f"backend=ghcr.io/acme/neosale-backend@{DIGEST}",
        f"frontend=ghcr.io/acme/neosale-frontend@{DIGEST}",
    ]


def test_published_digests_fail_when_an_image_is_missing(tmp_path: Path) -> None:
    script = str(_step(DELIVERY["build"], "Published digests")["run"])
    cwd = _published_report(tmp_path, [_image(App.backend)])
    out = tmp_path / "github_output"
    res = _run_script(script, cwd, {"PATH": "/usr/bin:/bin", "GITHUB_OUTPUT": str(out)})
    assert res.returncode == 1
    assert "reports/report.json has no published digest reference (got '')" in res.stdout
    assert not out.exists()


# --- production: approval, smoke, automatic rollback ---------------------------


def _approvals_jq() -> str:
    script = str(_step(DELIVERY["production"], "Who approved")["run"]).replace("\\\n", " ")
    words = shlex.split(script.split("$(", 1)[1].rsplit(")", 1)[0])
    return words[words.index("--jq") + 1]


def _approval(login: str, env: str, state: str = "approved") -> dict[str, Any]:
    """One entry of GET /repos/{owner}/{repo}/actions/runs/{run_id}/approvals."""
    return {
        "environments": [{"id": 1, "name": env, "url": f"https://api.github.com/environments/{env}"}],
        "state": state,
        "comment": "",
        "user": {"login": login, "id": 2, "type": "User"},
    }


@pytest.mark.parametrize(
    ("approvals", "expected"),
    [
        # a staging reviewer approving after production's must not be recorded
        ([_approval("alice", "production"), _approval("bob", "staging")], "alice"),
        ([_approval("carol", "staging"), _approval("dave", "production", "rejected")], ""),
        ([_approval("erin", "production"), _approval("frank", "production")], "frank"),
    ],
)
def test_the_approver_is_the_production_reviewer(approvals: list[dict[str, Any]], expected: str) -> None:
    res = subprocess.run(
        ["jq", "-r", _approvals_jq()], input=json.dumps(approvals), capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == expected


def test_production_is_smoke_tested_after_promote_and_rolled_back_when_it_fails() -> None:
    production = steps(DELIVERY["production"])
    names = [str(s.get("name")) for s in production]
    promote = names.index("Promote the digests that passed staging")
    smoke, rollback = production[promote + 1], production[promote + 2]
    assert is_dagger_action(smoke)
    assert _args(smoke) == "smoke --base-url ${{ vars.PRODUCTION_URL }} --sha ${{ github.sha }} verdict"
    # only when the smoke failed: a failed promote switched back by itself
    assert rollback["if"] == f"failure() && steps.{smoke['id']}.outcome == 'failure'"
    assert is_dagger_action(rollback)
    args = _args(rollback)
    assert "rollback --environment production --approved-by ${{ env.APPROVED_BY }}" in args
    assert "--docker-host env://DEPLOY_DOCKER_HOST" in args
    # a release whose colour is gone is redeployed: it needs the app's env, as the promote did
    assert args.endswith("--app-env env://APP_ENV")
    secrets = ("DEPLOY_DOCKER_HOST", "DEPLOY_SSH_KEY", "DEPLOY_SSH_KNOWN_HOSTS", "APP_ENV")
    assert rollback["env"] == {
        **{k: f"${{{{ secrets.{k} }}}}" for k in secrets},
        "GITHUB_TOKEN": "${{ github.token }}",
    }


# --- the rollback workflow -------------------------------------------------------


def test_rollback_runs_from_main_only() -> None:
    assert ROLLBACK["if"] == "github.ref == 'refs/heads/main'"


def test_rollback_is_never_queued_behind_an_approval() -> None:
    """A production job waiting for reviewers holds deploy-production; a rollback
    in that group would wait behind it, or be dropped as the pending entry. The
    deployer's lock is what keeps a rollback from racing a deploy."""
    group = ROLLBACK["concurrency"]["group"]
    assert ROLLBACK["concurrency"]["cancel-in-progress"] is False
    assert "${{ inputs.environment }}" in group  # one rollback at a time per environment
    held_by_deploys = {str((job.get("concurrency") or {}).get("group")) for job in DELIVERY.values()}
    for env in ("staging", "production"):
        assert group.replace("${{ inputs.environment }}", env) not in held_by_deploys
    text = (REPO_ROOT / ".github" / "workflows" / "rollback.yml").read_text()
    assert re.search(r"deployer holds\s+#\s+the target's lock", text)  # the reason, next to the group


def test_ci_is_one_job() -> None:
    """One engine for every check: a job per stage would start seven cold engines."""
    assert list(jobs(WORKFLOWS["ci.yml"])) == ["pipeline"]
