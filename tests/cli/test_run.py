"""The whole run through the official CLI: the main job script, the
workflows' calls verbatim, and the verdict taken from the exported report."""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import subprocess
from pathlib import Path

import pytest

from neosale_airgap.env import REPO_ROOT
from tests.cli.conftest import Dagger
from tests.workflows.gha import EXPRESSION, all_dagger_calls, jobs, steps, workflows

PIPELINE_SH = REPO_ROOT / "scripts" / "pipeline.sh"
VERDICT_SH = REPO_ROOT / "scripts" / "verdict.sh"

# What a workflow's `${{ }}` expressions stand for in these tests: the values
# GitHub would give a push to main of this checkout, and this machine's
# stand-ins for the rest.
HEAD = subprocess.run(
    ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
).stdout.strip()
CREATED = subprocess.run(
    ["git", "log", "-1", "--format=%cd", "--date=format-local:%Y-%m-%dT%H:%M:%SZ", "HEAD"],
    cwd=REPO_ROOT,
    env={**os.environ, "TZ": "UTC0"},
    capture_output=True,
    text=True,
).stdout.strip()
EXPRESSIONS = {
    "github.sha": HEAD,
    "env.CREATED": CREATED,
    "github.ref": "refs/heads/main",
    "github.server_url": "https://github.com",
    "github.repository": "neosale/neosale",
    "github.actor": "ci",
    "env.REGISTRY": "127.0.0.1:5000/neosale-test",  # ghcr.io/<owner>: the local registry
}


def fill(args: str, values: dict[str, str] = EXPRESSIONS) -> list[str]:
    """A step's `args:` with every expression replaced from `values`."""

    def one(m: re.Match[str]) -> str:
        return values[m.group(1).strip()]

    return shlex.split(EXPRESSION.sub(one, args))


def step_args(workflow: str, job: str, name: str) -> str:
    step = next(s for s in steps(jobs(workflows()[workflow])[job]) if s.get("name") == name)
    return str(step["with"]["args"])


def script_call(script: Path) -> list[str]:
    """The arguments of the `dagger call` a script runs, its variables by name."""
    text = script.read_text().replace("\\\n", " ")
    line = next(line for line in text.splitlines() if re.search(r"/dagger\"? call ", line))
    return shlex.split(line.split(" call ", 1)[1])


def test_the_main_job_runs_the_ci_workflows_call_verbatim() -> None:
    ci = fill(step_args("ci.yml", "pipeline", "Pipeline (no registry, nothing published)"))
    script = [{"$SHA": HEAD, "$CREATED": CREATED}.get(a, a) for a in script_call(PIPELINE_SH)]
    assert script == ci


def test_every_workflow_run_call_exports_the_report_its_verdict_reads() -> None:
    runs = [c for c in all_dagger_calls() if c.function == "run"]
    assert {c.workflow for c in runs} == {"ci.yml", "delivery.yml"}
    for call in runs:
        assert call.argv[-4:] == ("reports", "export", "--path", "reports"), call.id
        job = jobs(workflows()[call.workflow])[call.job]
        scripts = [str(s.get("run", "")) for s in steps(job)]
        assert "bash scripts/verdict.sh reports" in scripts, call.id


@pytest.mark.engine
def test_the_main_job_writes_reports_and_its_verdict(cli_env: dict[str, str]) -> None:
    res = subprocess.run(
        ["bash", str(PIPELINE_SH)], cwd=REPO_ROOT, env=cli_env, capture_output=True, text=True, timeout=3600
    )
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]
    report = json.loads((REPO_ROOT / "reports" / "report.json").read_text())
    assert report["passed"] is True
    assert report["revision"] == HEAD
    assert {"trivy gate (backend)", "publish (frontend)", "e2e (ephemeral stack)"} <= {
        s["name"] for s in report["stages"]
    }
    assert (REPO_ROOT / "reports" / "e2e" / "junit.xml").is_file()
    assert "verdict: passed" in res.stdout
    assert "| stage | result | time |" in res.stdout  # the summary, printed once
    # Progress, not reports: no Trivy JSON or SARIF in the console.
    assert '"SchemaVersion"' not in out
    assert '"$schema"' not in out


@pytest.mark.engine
def test_delivery_run_publishes_with_a_password_that_never_shows(dagger: Dagger, tmp_path: Path) -> None:
    password = "pw-" + secrets.token_hex(16)
    argv = fill(step_args("delivery.yml", "build", "Pipeline"))
    argv[argv.index("--path") + 1] = str(tmp_path / "reports")
    res = dagger("call", *argv, env_extra={"GITHUB_TOKEN": password})
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]
    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    assert report["passed"] is True, report["failed_stage"]
    # the block delivery.yml's "Published digests" step reads
    backend = report["images"]["backend"]
    assert backend["repository"] == "127.0.0.1:5000/neosale-test/neosale-backend"
    assert backend["ref"] == f"{backend['repository']}@{backend['digest']}"
    assert HEAD in backend["tags"]
    files = [p for p in (tmp_path / "reports").rglob("*") if p.is_file()]
    everything = out + "".join(p.read_bytes().decode(errors="replace") for p in files)
    assert password not in everything


def _report(tmp_path: Path, passed: bool) -> Path:
    (tmp_path / "summary.md").write_text("## NeoSale CI summary\n")
    stage = "typecheck (backend)"
    data: dict[str, object] = {"passed": passed, "failed_stage": None if passed else stage, "stages": []}
    (tmp_path / "report.json").write_text(json.dumps(data))
    return tmp_path


@pytest.mark.parametrize("passed", [True, False])
def test_verdict_reads_the_exported_report(tmp_path: Path, passed: bool) -> None:
    res = subprocess.run(
        ["bash", str(VERDICT_SH), str(_report(tmp_path, passed))], capture_output=True, text=True
    )
    assert "## NeoSale CI summary" in res.stdout
    if passed:
        assert res.returncode == 0
        assert "verdict: passed" in res.stdout
    else:
        assert res.returncode == 1
        assert "verdict: failed at typecheck (backend)" in res.stderr


def test_verdict_without_a_report_says_so(tmp_path: Path) -> None:
    res = subprocess.run(["bash", str(VERDICT_SH), str(tmp_path)], capture_output=True, text=True)
    assert res.returncode == 2
    assert f"{tmp_path}/report.json is missing" in res.stderr
