"""NEOSALE on a real Kubernetes cluster with Argo Rollouts: the real images,
the repository's manifests, the deployer's CLI (`--kube-namespace`).

One namespace lives through the module, release after release, as a
product's does: v1 installed, v2 promoted under load, a v3 whose smoke fails
aborted, a failing migration stopped, a rollback, a deployer killed
mid-release and rerun, a production backup restored.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from neosale_deploy.kube.jobs import postgres_env
from tests.deploy.helpers import LoadGen

from .cluster import Cluster, wait_until
from .neosale import Release, build_release, deployer, entry_url, install, overlay

pytestmark = [pytest.mark.docker, pytest.mark.engine]

NS = "neosale-k8s"


@dataclass(frozen=True)
class World:
    cluster: Cluster
    url: str
    v1: Release
    v2: Release
    v3: Release


@pytest.fixture(scope="module")
def runner_image(engine: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> str:
    """The module's runner image (the smoke analysis runs it), pushed by digest."""
    out = tmp_path_factory.mktemp("runner") / "ref"
    code = (
        "import anyio, dagger, sys\n"
        "from dagger import dag\n"
        "from neosale_airgap.env import REPO_ROOT\n"
        "from neosale_airgap.standins import module_images\n"
        "from neosale_ci import Neosale\n"
        "from neosale_ci.context import SOURCE_IGNORE\n"
        "from neosale_ci.runner import runner\n"
        "async def main():\n"
        "    async with dagger.connection(dagger.Config(log_output=sys.stderr)):\n"
        "        src = dag.host().directory(str(REPO_ROOT), exclude=SOURCE_IGNORE)\n"
        "        ctx = Neosale(source=src, **module_images()).ctx()\n"
        "        ref = await (await runner(ctx)).publish('127.0.0.1:5000/neosale-test/k8s-runner:latest')\n"
        f"        open({str(out)!r}, 'w').write(ref)\n"
        "anyio.run(main)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=1200, env=engine)
    repo, digest = out.read_text().split("@")  # repo:latest@sha256:...
    return f"{repo.rsplit(':', 1)[0]}@{digest}"


@pytest.fixture(scope="module")
def world(kube: Cluster, runner_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    builds = tmp_path_factory.mktemp("builds")
    v1, v2, v3 = (build_release(name, builds) for name in ("v1", "v2", "v3"))
    install(kube, overlay(tmp_path_factory.mktemp("overlay"), NS, v1, runner_image), NS)
    yield World(kube, entry_url(kube), v1, v2, v3)
    kube.kubectl("delete", "namespace", NS, "--wait=false", check=False)


def deploy(w: World, r: Release, *extra: str) -> subprocess.CompletedProcess[str]:
    args = ["deploy", "--backend", r.backend, "--frontend", r.frontend, "--expect-revision", r.sha, *extra]
    return deployer(w.cluster, NS, *args)


def shas(url: str, n: int = 8) -> set[str]:
    """The revisions /api/version answers, a few spaced calls (the API's per-client limit)."""
    seen = set()
    for _ in range(n):
        seen.add(httpx.get(f"{url}/api/version", timeout=5).json().get("sha", "?"))
        time.sleep(0.15)
    return seen


class VersionWatch:
    """/api/version about 6 times a second (under the per-client limit): when each revision answered."""

    def __init__(self, url: str) -> None:
        self.url, self.seen = url, list[tuple[float, str]]()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                sha = client.get(f"{self.url}/api/version").json().get("sha", "?")
                self.seen.append((time.monotonic(), sha))
                time.sleep(0.15)

    def __enter__(self) -> VersionWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def last(self, sha: str) -> float:
        return max((t for t, s in self.seen if s == sha), default=0.0)

    def after(self, t: float) -> set[str]:
        return {s for at, s in self.seen if at > t}


def test_v1_installed_migrated_and_serving(world: World) -> None:
    done = deploy(world, world.v1)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "phase migrate: done" in out
    assert "already live; nothing to do" in out
    wait_until("v1 through the entry", lambda: shas(world.url) == {world.v1.sha}, timeout=120)


def test_v2_promoted_under_load_with_no_failed_request(world: World) -> None:
    load = LoadGen(world.url, total=20000, rate=250).start()
    done = deploy(world, world.v2)
    time.sleep(3)
    load.stop()
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    for phase in ("migrate", "start-idle", "smoke", "verify"):
        assert f"phase {phase}: done" in out, out
    load.check(minimum=5000, rate=200.0)
    assert load.failures() == []
    assert shas(world.url) == {world.v2.sha}


def test_a_release_whose_smoke_fails_is_aborted_and_v2_keeps_serving(world: World) -> None:
    load = LoadGen(world.url, total=20000, rate=250).start()
    done = deploy(world, world.v3, "--expect-revision", "0" * 40)  # the analysis wants another build
    time.sleep(2)
    load.stop()
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "aborted by Argo Rollouts" in out, out
    assert "phase switch-back: done" in out, out
    assert load.failures() == []
    assert shas(world.url) == {world.v2.sha}
    status = json.loads(deployer(world.cluster, NS, "status").stdout)
    assert status["rollouts"]["backend"]["image"] == world.v2.backend
    assert status["rollouts"]["backend"]["stage"] == "healthy"


def test_a_failing_migration_stops_the_release_before_any_traffic_moves(world: World) -> None:
    done = deploy(world, world.v3, "--migrate-command", "node -e 'process.exit(3)'")
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "phase migrate: FAILED" in out, out
    assert "phase start-idle" not in out
    rollout = world.cluster.get("-n", NS, "rollout", "neosale-backend")
    assert rollout["spec"]["template"]["spec"]["containers"][0]["image"] == world.v2.backend
    assert shas(world.url) == {world.v2.sha}


def test_an_image_that_cannot_be_pulled_stops_the_release_and_v2_keeps_serving(world: World) -> None:
    missing = world.v3.backend.split("@")[0] + "@sha256:" + "0" * 64
    done = deployer(world.cluster, NS, "deploy", "--backend", missing, "--frontend", world.v2.frontend)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "cannot start" in out, out  # the migration Job, first to run the new backend image
    assert "ErrImagePull" in out or "ImagePullBackOff" in out, out
    assert shas(world.url) == {world.v2.sha}


def test_a_namespace_that_does_not_exist_is_bad_input_and_changes_nothing(world: World) -> None:
    done = deployer(
        world.cluster, "nowhere", "deploy", "--backend", world.v1.backend, "--frontend", world.v1.frontend
    )
    assert done.returncode == 2, done.stderr
    assert "namespace 'nowhere' does not exist" in done.stderr
    assert shas(world.url) == {world.v2.sha}


def test_rollback_puts_all_traffic_on_the_previous_release_within_3s(world: World) -> None:
    load = LoadGen(world.url, total=20000, rate=250).start()
    with VersionWatch(world.url) as watch:
        time.sleep(2)
        started = time.monotonic()
        done = deployer(world.cluster, NS, "rollback", "--approved-by", "oncall")
        time.sleep(3)
    load.stop()
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert load.failures() == []
    switched = watch.last(world.v2.sha) - started
    assert switched <= 3.0, f"v2 still answered {switched:.2f}s after the rollback started"
    assert watch.after(started + 3.0) == {world.v1.sha}
    print(f"rollback: the last v2 answer {switched:.2f}s after the command started")


def test_a_deployer_killed_mid_release_is_rerun_and_converges(world: World) -> None:
    argv = [sys.executable, "-m", "neosale_deploy", "deploy", "--backend", world.v2.backend]
    argv += [
        "--frontend",
        world.v2.frontend,
        "--kube-namespace",
        NS,
        "--kubeconfig",
        str(world.cluster.kubeconfig),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "phase start-idle: start" in line:
            break
    time.sleep(2)
    # A new pod of the release killed too, as a node would.
    pods = world.cluster.get("-n", NS, "pods", "-l", "app.kubernetes.io/name=neosale-backend")["items"]
    world.cluster.kubectl("-n", NS, "delete", "pod", pods[-1]["metadata"]["name"], "--wait=false")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = deploy(world, world.v2)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "taking over stale lock" in out, out
    assert shas(world.url) == {world.v2.sha}
    leases = world.cluster.get("-n", NS, "leases")["items"]
    assert leases == []
    jobs = world.cluster.get("-n", NS, "jobs")["items"]
    assert all(j["status"].get("active", 0) == 0 for j in jobs)


def test_a_production_release_backs_up_first_and_the_dump_restores_into_an_empty_database(
    world: World, tmp_path: Path
) -> None:
    done = deploy(world, world.v3, "--production", "--approved-by", "release-manager")
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    history = [json.loads(line) for line in deployer(world.cluster, NS, "history").stdout.splitlines()]
    backup = history[-1]["backup"]
    assert backup["bytes"] > 0
    world.cluster.apply(json.dumps(restore_job(world, f"/backups/{backup['id']}.dump")))
    world.cluster.kubectl("-n", NS, "wait", "--for=condition=complete", "job/restore-check", "--timeout=180s")
    tables = world.cluster.kubectl("-n", NS, "logs", "job/restore-check").strip().splitlines()[-1]
    assert int(tables) >= 1


def restore_job(w: World, dump: str) -> dict[str, object]:
    """pg_restore of `dump` into a new, empty database; prints its table count."""
    sts = w.cluster.get("-n", NS, "statefulset", "neosale-postgres")
    image = sts["spec"]["template"]["spec"]["containers"][0]["image"]
    count = "select count(*) from information_schema.tables where table_schema = 'public'"
    script = (
        f'createdb restored && pg_restore --no-owner -d restored {dump} && psql -d restored -Atc "{count}"'
    )
    container = {
        "name": "restore",
        "image": image,
        "command": ["sh", "-c", script],
        "env": postgres_env(),  # createdb and psql name their database; PGDATABASE is only the default
        "volumeMounts": [{"name": "backups", "mountPath": "/backups"}],
    }
    pod = {
        "restartPolicy": "Never",
        "containers": [container],
        "volumes": [{"name": "backups", "persistentVolumeClaim": {"claimName": "neosale-backups"}}],
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "restore-check", "namespace": NS},
        "spec": {"backoffLimit": 0, "template": {"spec": pod}},
    }


def test_more_replicas_take_traffic_without_a_failed_request(world: World) -> None:
    load = LoadGen(world.url, total=6000, rate=250).start()
    world.cluster.kubectl("-n", NS, "scale", "rollout/neosale-backend", "--replicas=3")
    wait_until(
        "3 backend pods ready",
        lambda: (
            world.cluster.get("-n", NS, "rollout", "neosale-backend")["status"].get("availableReplicas") == 3
        ),
        timeout=120,
    )
    load.wait()
    load.check(minimum=5000, rate=200.0)
    assert load.failures() == []
