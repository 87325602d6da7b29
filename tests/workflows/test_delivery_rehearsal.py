"""delivery.yml and rollback.yml run for real by a GitHub Actions runner, with the real images.

scripts/rehearsal-world.sh starts what GitHub's environments point at: a
registry behind htpasswd as ghcr, this machine's Docker Engine behind an sshd
as the deploy host, staging and production as two targets on it, and the
approver a production reviewer would be. scripts/rehearse.sh then runs the
workflows with nektos/act, as pushes to main:

1. release A (HEAD): build, scan, publish → staging (deploy, smoke, E2E) →
   production (approved, promoted, smoke). Production's first release.
2. release B (a later commit of the same tree): the same, and production
   switches from A to B under a steady load on its router.
3. release C, whose production target file is broken (the backend refuses its
   LOG_LEVEL at start): staging passes, production's deploy fails on the idle
   colour and never switches; B keeps serving, under load.
4. rollback.yml, dispatched for production: back to A, under load.

Stand-ins, for what only GitHub has: the SARIF uploads are skipped, and
"Who approved (rehearsal)" records the world's approver in place of the
approvals API. Everything else runs as on GitHub.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.helpers import LoadGen
from tests.workflows.gha import REPO_ROOT, WORKFLOW_DIR, jobs, load
from tests.workflows.rehearsal import SCRIPTS, Rehearsal, act_only, github_only, rehearse

pytestmark = [pytest.mark.engine, pytest.mark.docker]

APPROVER = "release-manager"  # scripts/rehearsal-world.sh's vars.REHEARSAL_APPROVER
MIN_REQUESTS = 5000


def _standin(key: str) -> str:
    """An image of the air-gapped set, from the generated .env (scripts/airgap-up.sh)."""
    lines = (REPO_ROOT / ".env").read_text().splitlines()
    return next(line.split("=", 1)[1] for line in lines if line.startswith(f"{key}="))


@dataclass(frozen=True)
class World:
    dir: Path
    env: dict[str, str]

    def setting(self, file: str, key: str) -> str:
        """KEY's value in the world's secrets or variables file (NEOSALE_REHEARSAL_SECRETS/_VARS)."""
        lines = Path(self.env[file]).read_text().splitlines()
        return next(line.split("=", 1)[1] for line in lines if line.startswith(f"{key}="))

    @property
    def production_url(self) -> str:
        return self.env["PRODUCTION_URL"]

    def deployer(self, environment: str, *args: str) -> subprocess.CompletedProcess[str]:
        """The deployer's CLI on this machine against one of the world's targets."""
        config = self.dir / "overlay" / "deploy" / f"{environment}.toml"
        argv = [sys.executable, "-m", "neosale_deploy", *args, "--config", str(config)]
        # The ledger lives in a volume, read through the router's image: the stand-in's.
        argv += ["--host", "unix:///var/run/docker.sock", "--router-image", _standin("NGINXIMAGE")]
        return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)

    def ledger(self, environment: str) -> list[dict[str, Any]]:
        done = self.deployer(environment, "history", "--json", "--limit", "50")
        assert done.returncode == 0, done.stderr
        return [json.loads(line) for line in done.stdout.splitlines()]

    def served_revision(self) -> str:
        # /api/version is behind the API's per-client limit: a few calls, spaced.
        for _ in range(10):
            r = httpx.get(f"{self.production_url}/api/version", timeout=5)
            if r.status_code == 200:
                return str(r.json()["sha"])
            time.sleep(0.5)
        raise AssertionError(f"/api/version answered {r.status_code}: {r.text}")


@dataclass
class Step:
    rehearsal: Rehearsal
    load: LoadGen | None = None
    served_after: str = ""


@dataclass
class Story:
    world: World
    steps: dict[str, Step] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    d = tmp_path_factory.mktemp("world")
    script = str(SCRIPTS / "rehearsal-world.sh")
    started = subprocess.run(["bash", script, "start", str(d)], capture_output=True, text=True, timeout=900)
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        yield World(d, dict(line.split("=", 1) for line in started.stdout.splitlines()))
    finally:
        subprocess.run(["bash", script, "stop", str(d)], capture_output=True, text=True, timeout=300)


def _rehearse_under_load(
    world: World, out: Path, workflow: str, event: str, inputs: dict[str, str] | None = None, **env: str
) -> Step:
    """A rehearsal with a steady load on production's router from the moment its production job starts."""
    step: dict[str, Any] = {}
    loads: list[LoadGen] = []

    def run() -> None:
        step["r"] = rehearse(workflow, event, out, {**world.env, **env}, **(inputs or {}))

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    job = "rollback" if workflow == "rollback" else "production"
    while worker.is_alive() and not loads:
        log = out / "act.jsonl"
        if log.is_file() and f'"jobID":"{job}"' in log.read_text(errors="replace"):
            loads.append(LoadGen(world.production_url, total=10**7).start())
        time.sleep(1)
    worker.join()
    if loads:
        loads[0].stop()
    return Step(step["r"], loads[0] if loads else None, world.served_revision())


@pytest.fixture(scope="module")
def story(world: World, tmp_path_factory: pytest.TempPathFactory) -> Story:
    s = Story(world)
    s.steps["A"] = Step(rehearse("delivery", "push", tmp_path_factory.mktemp("release-a"), world.env))
    s.steps["A"].served_after = world.served_revision()
    s.steps["B"] = _rehearse_under_load(
        world, tmp_path_factory.mktemp("release-b"), "delivery", "push", NEOSALE_REHEARSAL_COMMIT="release B"
    )
    broken = tmp_path_factory.mktemp("overlay-c")
    shutil.copytree(world.dir / "overlay", broken, dirs_exist_ok=True)
    production = broken / "deploy" / "production.toml"
    production.write_text(production.read_text().replace('LOG_LEVEL = "info"', 'LOG_LEVEL = "loud"'))
    s.steps["C"] = _rehearse_under_load(
        world,
        tmp_path_factory.mktemp("release-c"),
        "delivery",
        "push",
        NEOSALE_REHEARSAL_COMMIT="release C: a broken production setting",
        NEOSALE_REHEARSAL_OVERLAY=str(broken),
    )
    s.steps["rollback"] = _rehearse_under_load(
        world,
        tmp_path_factory.mktemp("rollback"),
        "rollback",
        "workflow_dispatch",
        inputs={"environment": "production"},
    )
    return s


def _delivery_steps(job: str) -> list[dict[str, Any]]:
    steps = jobs(load(WORKFLOW_DIR / "delivery.yml"))[job]["steps"]
    assert isinstance(steps, list)
    return steps


def _expected(job: str) -> list[tuple[str, str]]:
    """A run where all went well: every step ran but those only GitHub has (those standing
    in for them ran) and those for a failure (the production rollback)."""
    steps = _delivery_steps(job)
    return [
        (str(s["name"]), "skipped" if github_only(s) or "failure()" in str(s.get("if", "")) else "success")
        for s in steps
    ]


def _release_sha(step: Step) -> str:
    event = json.loads((step.rehearsal.out / "event.json").read_text())
    return str(event["after"])


def test_release_a_goes_from_push_to_production_through_every_step(story: Story) -> None:
    a = story.steps["A"].rehearsal
    assert a.returncode == 0, json.dumps(a.outcome, indent=1)
    assert a.outcome["jobs"] == {"build": "success", "staging": "success", "production": "success"}
    for job in ("build", "staging", "production"):
        assert a.results(job) == _expected(job), job
    skipped = [(s["job"], s["step"]) for s in a.outcome["skipped_under_act"]]
    assert skipped == [
        ("build", "Upload SARIF (backend)"),
        ("build", "Upload SARIF (frontend)"),
        ("production", "Who approved"),
    ]
    assert any(act_only(s) for s in _delivery_steps("production"))
    assert story.steps["A"].served_after == _release_sha(story.steps["A"])


def test_production_records_the_approver_and_the_digests_that_passed_staging(story: Story) -> None:
    a_sha = _release_sha(story.steps["A"])
    deploys = [
        r for r in story.world.ledger("production") if r["kind"] == "deploy" and r["result"] == "success"
    ]
    first = deploys[0]
    assert first["approved_by"] == APPROVER
    assert first["production"] is True, "production backs up PostgreSQL first"
    staged = [r for r in story.world.ledger("staging") if r["kind"] == "deploy" and r["result"] == "success"]
    assert (first["backend"], first["frontend"]) == (staged[0]["backend"], staged[0]["frontend"])
    # the images the pipeline published to "ghcr", by digest
    ghcr = story.world.setting("NEOSALE_REHEARSAL_VARS", "REGISTRY")
    assert first["backend"].startswith(f"{ghcr}/neosale-backend@sha256:")
    assert first["frontend"].startswith(f"{ghcr}/neosale-frontend@sha256:")
    assert story.steps["A"].served_after == a_sha


def test_release_b_is_promoted_under_load_without_a_failed_request(story: Story) -> None:
    b = story.steps["B"]
    assert b.rehearsal.returncode == 0, json.dumps(b.rehearsal.outcome, indent=1)
    assert b.load is not None
    b.load.check(MIN_REQUESTS)
    assert b.served_after == _release_sha(b) != _release_sha(story.steps["A"])


def test_a_broken_release_never_takes_production_traffic(story: Story) -> None:
    c = story.steps["C"]
    assert c.rehearsal.outcome["jobs"] == {"build": "success", "staging": "success", "production": "failure"}
    assert c.load is not None
    c.load.check(MIN_REQUESTS)
    # B still serves: the deploy failed on the idle colour, before any switch
    assert c.served_after == _release_sha(story.steps["B"])
    failed = [r for r in story.world.ledger("production") if r["kind"] == "deploy"][-1]
    assert failed["result"] == "failed"
    assert "switch" not in [p["name"] for p in failed["phases"]]
    assert "LOG_LEVEL" in c.rehearsal.log


def test_the_rollback_workflow_returns_production_to_the_release_before(story: Story) -> None:
    r = story.steps["rollback"]
    assert r.rehearsal.returncode == 0, json.dumps(r.rehearsal.outcome, indent=1)
    assert r.rehearsal.outcome["jobs"] == {"rollback": "success"}
    assert r.load is not None
    r.load.check(MIN_REQUESTS)
    assert r.served_after == _release_sha(story.steps["A"])
    last = story.world.ledger("production")[-1]
    assert (last["kind"], last["result"], last["approved_by"]) == ("rollback", "success", "neosale-bot")


def test_no_secret_reaches_the_logs(story: Story) -> None:
    token = story.world.setting("NEOSALE_REHEARSAL_SECRETS", "GITHUB_TOKEN")
    db_password = (story.world.dir / "db.password").read_text().strip()
    for step in story.steps.values():
        for value in (token, db_password):
            assert value not in step.rehearsal.log
