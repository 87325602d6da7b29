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
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

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
def runner_image(tmp_path_factory: pytest.TempPathFactory) -> str:
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
        "        ctx = Neosale(source=src, **module_images()).ctx\n"
        "        ref = await (await runner(ctx)).publish('127.0.0.1:5000/neosale-test/k8s-runner:latest')\n"
        f"        open({str(out)!r}, 'w').write(ref)\n"
        "anyio.run(main)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=1200)
    return (
        out.read_text()
        .split(":latest")[0]
        .replace("127.0.0.1:5000/neosale-test/k8s-runner", "127.0.0.1:5000/neosale-test/k8s-runner")
    )


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


def versions(url: str, n: int = 20) -> set[str]:
    return {httpx.get(f"{url}/api/health", timeout=5).json().get("version", "?") for _ in range(n)}


def test_v1_installed_migrated_and_serving(world: World) -> None:
    done = deploy(world, world.v1)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "phase migrate: done" in out
    assert "already live; nothing to do" in out
    wait_until("v1 through the entry", lambda: versions(world.url) == {world.v1.version}, timeout=120)


def test_v2_promoted_under_load_with_no_failed_request(world: World) -> None:
    load = LoadGen(world.url, total=20000, rate=250).start()
    done = deploy(world, world.v2)
    finished = time.monotonic()
    time.sleep(3)
    load.stop()
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    for phase in ("migrate", "start-idle", "smoke", "verify"):
        assert f"phase {phase}: done" in out, out
    load.check(minimum=5000, rate=200.0)
    assert load.failures() == []
    assert load.versions_after(finished) == {world.v2.version}


def test_a_release_whose_smoke_fails_is_aborted_and_v2_keeps_serving(world: World) -> None:
    load = LoadGen(world.url, total=20000, rate=250).start()
    done = deploy(world, world.v3, "--expect-revision", "0" * 40)  # the analysis wants another build
    finished = time.monotonic()
    time.sleep(2)
    load.stop()
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "aborted by Argo Rollouts" in out, out
    assert "phase switch-back: done" in out, out
    assert load.failures() == []
    assert load.versions_after(finished) == {world.v2.version}
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
    assert versions(world.url) == {world.v2.version}


def test_rollback_puts_all_traffic_on_the_previous_release_within_3s(world: World) -> None:
    load = LoadGen(world.url, total=20000, rate=250).start()
    time.sleep(2)
    started = time.monotonic()
    done = deployer(world.cluster, NS, "rollback", "--approved-by", "oncall")
    time.sleep(3)
    load.stop()
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert load.failures() == []
    last_v2 = max((s.start for s in load.samples if s.version == world.v2.version), default=started)
    assert last_v2 - started <= 3.0, f"v2 answered {last_v2 - started:.2f}s after the rollback started"
    assert load.versions_after(started + 3.0) == {world.v1.version}


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
    assert versions(world.url) == {world.v2.version}
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
    secret = [
        {"name": pg, "valueFrom": {"secretKeyRef": {"name": "neosale-postgres", "key": key}}}
        for pg, key in (("PGUSER", "POSTGRES_USER"), ("PGPASSWORD", "POSTGRES_PASSWORD"))
    ]
    container = {
        "name": "restore",
        "image": image,
        "command": ["sh", "-c", script],
        "env": [{"name": "PGHOST", "value": "neosale-postgres"}, *secret],
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
