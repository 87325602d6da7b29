"""The workflows' security and delivery rules, read from the YAML itself."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from neosale_airgap.sdkinputs import RUNTIME_TARBALLS
from tests.workflows.gha import (
    EXPRESSION,
    REPO_ROOT,
    all_steps,
    environment_name,
    is_dagger_action,
    jobs,
    load,
    steps,
    triggers,
    workflows,
)

SHA_PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
WORKFLOWS = workflows()
DELIVERY = WORKFLOWS["delivery.yml"]


def _uses() -> list[tuple[str, str, str]]:
    out = []
    for name, wf in WORKFLOWS.items():
        for job_id, job in jobs(wf).items():
            if "uses" in job:  # a reusable workflow
                out.append((name, job_id, str(job["uses"])))
            out += [(name, job_id, str(s["uses"])) for s in steps(job) if "uses" in s]
    return out


def _job_uses(job: dict[str, Any], action: str) -> bool:
    return any(str(s.get("uses", "")).startswith(action + "@") for s in steps(job))


def test_the_three_workflows_exist() -> None:
    assert {"ci.yml", "delivery.yml", "rollback.yml"} <= set(WORKFLOWS)


@pytest.mark.parametrize(("workflow", "job", "uses"), _uses())
def test_every_action_is_pinned_by_commit_sha(workflow: str, job: str, uses: str) -> None:
    if uses.startswith("./"):
        return  # local actions and workflows come with the commit itself
    if uses.startswith("docker://"):
        assert "@sha256:" in uses, f"{workflow}:{job}: {uses} is not pinned by digest"
        return
    assert SHA_PINNED.match(uses), f"{workflow}:{job}: {uses} is not pinned by a full commit sha"


def test_the_pinned_actions_are_the_expected_ones() -> None:
    actions = {u.split("@")[0] for _, _, u in _uses()}
    assert actions == {
        "actions/checkout",
        "actions/upload-artifact",
        "dagger/dagger-for-github",
        "github/codeql-action/upload-sarif",
    }
    for action in actions:  # one version of each action everywhere
        assert len({u for _, _, u in _uses() if u.split("@")[0] == action}) == 1, action


@pytest.mark.parametrize("workflow", sorted(WORKFLOWS))
def test_every_job_has_explicit_permissions(workflow: str) -> None:
    wf = WORKFLOWS[workflow]
    assert wf.get("permissions") == {}, "the workflow grants nothing; each job says what it needs"
    for job_id, job in jobs(wf).items():
        perms = job.get("permissions")
        assert isinstance(perms, dict), f"{workflow}:{job_id} has no explicit permissions mapping"
        assert perms.get("contents") == "read", f"{workflow}:{job_id}"
        assert set(perms.values()) <= {"read", "write", "none"}


def test_write_permissions_only_where_needed() -> None:
    for name, wf in WORKFLOWS.items():
        for job_id, job in jobs(wf).items():
            perms: dict[str, str] = job["permissions"]
            writes = {k for k, v in perms.items() if v == "write"}
            allowed = set()
            if (name, job_id) == ("delivery.yml", "build"):
                allowed.add("packages")  # the only job that publishes
            if _job_uses(job, "github/codeql-action/upload-sarif"):
                allowed.add("security-events")
            assert writes == allowed, f"{name}:{job_id} writes {sorted(writes)}, needs {sorted(allowed)}"


@pytest.mark.parametrize("workflow", sorted(WORKFLOWS))
def test_no_privileged_triggers(workflow: str) -> None:
    on = triggers(WORKFLOWS[workflow])
    assert "pull_request_target" not in on
    assert "workflow_run" not in on
    text = (REPO_ROOT / ".github" / "workflows" / workflow).read_text()
    assert "pull_request_target" not in text


def test_checkouts_do_not_persist_credentials() -> None:
    checkouts = [
        (w, j, s) for w, j, s in all_steps() if str(s.get("uses", "")).startswith("actions/checkout@")
    ]
    assert checkouts
    for w, j, s in checkouts:
        assert (s.get("with") or {}).get("persist-credentials") is False, f"{w}:{j}"


def test_no_expression_is_expanded_inside_a_script() -> None:
    """Untrusted values reach scripts through env variables, never as `${{ }}` in the script text."""
    for w, j, s in all_steps():
        if "run" in s:
            assert not EXPRESSION.search(str(s["run"])), f"{w}:{j}:{s.get('name')}: use env: instead"


def test_the_dagger_version_is_the_same_everywhere() -> None:
    """One Dagger version: airgap/env.sh, dagger.json, the dagger-io client lock,
    the SDK runtime mirror's checksum table, every workflow step and the README."""
    env_sh = (REPO_ROOT / "airgap" / "env.sh").read_text()
    found = re.search(r"^export DAGGER_VERSION=(\S+)$", env_sh, re.M)
    assert found, "airgap/env.sh must pin DAGGER_VERSION, not default it"
    version = found.group(1)
    assert version == "0.21.8"  # the newest the Go module proxy lets us build and test
    engine = json.loads((REPO_ROOT / "dagger.json").read_text())["engineVersion"]
    assert engine == f"v{version}"
    lock = (REPO_ROOT / "requirements-dev.lock").read_text()
    assert re.findall(r"^dagger-io==(\S+) ", lock, re.M) == [version]
    assert version in RUNTIME_TARBALLS
    dagger_steps = [(w, j, s) for w, j, s in all_steps() if is_dagger_action(s)]
    assert dagger_steps
    for w, j, s in dagger_steps:
        assert str((s.get("with") or {}).get("version")) == version, f"{w}:{j}:{s.get('name')}"
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"v{version}" in readme
    assert set(re.findall(r"(?<![\d.])0\.21\.\d+", readme)) == {version}, "README names another 0.21 version"


def test_ci_runs_on_pull_requests_and_pushes_and_cancels_stale_runs() -> None:
    ci = WORKFLOWS["ci.yml"]
    assert {"pull_request", "push"} <= set(triggers(ci))
    group = ci["concurrency"]["group"]
    assert "github.workflow" in group
    assert "github.ref" in group
    # branches and pull requests cancel the superseded run; main keeps each result
    assert ci["concurrency"]["cancel-in-progress"] == "${{ github.ref != 'refs/heads/main' }}"


def test_delivery_runs_on_main_and_by_hand() -> None:
    on = triggers(DELIVERY)
    assert set(on) == {"push", "workflow_dispatch"}
    assert on["push"]["branches"] == ["main"]
    assert DELIVERY["jobs"]["build"]["if"] == "github.ref == 'refs/heads/main'"


def test_production_needs_staging_and_its_environment() -> None:
    staging = DELIVERY["jobs"]["staging"]
    production = DELIVERY["jobs"]["production"]
    assert environment_name(staging) == "staging"
    assert environment_name(production) == "production"
    needs = production["needs"]
    assert "staging" in ([needs] if isinstance(needs, str) else needs)
    assert "build" in ([staging["needs"]] if isinstance(staging["needs"], str) else staging["needs"])


def test_production_promotes_the_digests_that_passed_staging() -> None:
    build, staging, production = (DELIVERY["jobs"][j] for j in ("build", "staging", "production"))
    for role in ("backend", "frontend"):
        assert build["outputs"][role] == f"${{{{ steps.digests.outputs.{role} }}}}"
        assert staging["outputs"][role] == f"${{{{ steps.passed.outputs.{role} }}}}"
    deploy = next(s for s in steps(staging) if "deploy-staging" in str((s.get("with") or {}).get("args")))
    promote = next(s for s in steps(production) if "promote" in str((s.get("with") or {}).get("args")))
    deploy_args, promote_args = str(deploy["with"]["args"]), str(promote["with"]["args"])
    for role in ("backend", "frontend"):
        assert f"--{role} ${{{{ needs.build.outputs.{role} }}}}" in deploy_args
        assert f"--{role} ${{{{ needs.staging.outputs.{role} }}}}" in promote_args
    for args in (deploy_args, promote_args):
        assert "--sha ${{ github.sha }}" in args
        assert "--docker-host env://" in args  # a secret, never a plain value
    assert "--approved-by ${{ github.actor }}" in deploy_args
    # production: the approval names the sha, and the ledger gets the reviewer who released the job
    assert "--approve ${{ github.sha }}" in promote_args
    assert "--approved-by ${{ env.APPROVED_BY }}" in promote_args
    approval = next(s for s in steps(production) if s.get("name") == "Who approved")
    assert "/actions/runs/${RUN_ID}/approvals" in approval["run"]
    assert 'echo "APPROVED_BY=${who}" >> "$GITHUB_ENV"' in approval["run"]
    # GitHub's API on GitHub; the rehearsal's recorded reviewer only under act
    stand_in = next(s for s in steps(production) if s.get("name") == "Who approved (rehearsal)")
    assert (approval["if"], stand_in["if"]) == ("${{ !env.ACT }}", "${{ env.ACT }}")
    assert production["permissions"] == {"contents": "read", "actions": "read", "packages": "read"}
    # the deploy host pulls the published (private) images with the run's token
    for args in (deploy_args, promote_args):
        assert "--pull-username ${{ github.actor }} --pull-password env://GITHUB_TOKEN" in args
    # staging's outputs are recorded after its last check, so they exist only if it passed
    staging_steps = steps(staging)
    assert staging_steps[-1].get("id") == "passed"


def test_one_deploy_at_a_time_per_environment() -> None:
    for env in ("staging", "production"):
        conc = DELIVERY["jobs"][env]["concurrency"]
        assert conc == {"group": f"deploy-{env}", "cancel-in-progress": False}
    rollback = WORKFLOWS["rollback.yml"]["jobs"]["rollback"]
    assert environment_name(rollback) == "${{ inputs.environment }}"


def test_rollback_is_manual_with_an_environment_choice() -> None:
    rollback = WORKFLOWS["rollback.yml"]
    on = triggers(rollback)
    assert set(on) == {"workflow_dispatch"}
    env = on["workflow_dispatch"]["inputs"]["environment"]
    assert env["type"] == "choice"
    assert env["options"] == ["staging", "production"]
    assert any(
        "rollback" in str((s.get("with") or {}).get("args", "")) for s in steps(rollback["jobs"]["rollback"])
    )


def test_delivery_build_reports_even_when_the_pipeline_fails() -> None:
    build = steps(DELIVERY["jobs"]["build"])
    names = [str(s.get("name")) for s in build]
    pipeline = next(i for i, s in enumerate(build) if is_dagger_action(s))
    verdict = names.index("Verdict")
    sarif = [i for i, s in enumerate(build) if str(s.get("uses", "")).startswith("github/codeql-action/")]
    summary = next(i for i, s in enumerate(build) if "GITHUB_STEP_SUMMARY" in str(s.get("run", "")))
    artifact = next(i for i, s in enumerate(build) if str(s.get("uses", "")).startswith("actions/upload-"))
    assert sarif
    for i in [*sarif, summary, artifact]:
        assert pipeline < i < verdict
        assert "always()" in str(build[i]["if"])
    pipeline_step = build[pipeline]
    assert pipeline_step["env"]["GITHUB_TOKEN"] == "${{ github.token }}"
    args = str(pipeline_step["with"]["args"])
    assert "--password env://GITHUB_TOKEN" in args
    assert "--created ${{ env.CREATED }}" in args
    assert "--registry ${{ env.REGISTRY }}" in args
    metadata = next(s for s in build if "CREATED=" in str(s.get("run", "")))
    assert "${OWNER,,}" in str(metadata["run"])  # ghcr.io paths are lower case
    assert metadata["env"]["OWNER"] == "${{ github.repository_owner }}"


def test_load_rejects_non_mappings(tmp_path: Any) -> None:
    bad = tmp_path / "x.yml"
    bad.write_text("- a\n")
    with pytest.raises(AssertionError):
        load(bad)
