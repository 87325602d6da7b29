"""Blue-green deploys against real containers: zero failed requests, automatic and manual rollback."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import pytest

from neosale_deploy import dockerhost as dh
from neosale_deploy.model import LABEL_ROLE

from .helpers import Env, LoadGen, live_versions, project_containers

pytestmark = pytest.mark.docker


def history(env: Env) -> list[dict[str, Any]]:
    out = env.cli("history", "--json", "--limit", "100")
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def phase_names(rec: dict[str, Any]) -> list[str]:
    return [p["name"] for p in rec["phases"]]


def roles_running(client: Any, env: Env) -> list[str]:
    return sorted(
        f"{dh.label(c, 'dev.neosale.deploy.colour') or '-'}:{dh.label(c, LABEL_ROLE)}"
        for c in project_containers(client, env.project)
    )


def deploy_ok(env: Env, version: str, *extra: str) -> None:
    out = env.deploy(version, *extra)
    assert out.returncode == 0, out.stdout + out.stderr


def test_v1_to_v2_under_load_then_manual_rollback(env: Env, docker_client: Any) -> None:
    deploy_ok(env, "v1", "--approved-by", "alice")
    assert live_versions(env.live_url) == {"v1"}

    load = LoadGen(env.live_url, total=6000, rate=250).start()
    time.sleep(2)
    out = env.deploy("v2")
    deployed_at = time.monotonic()
    load.wait()
    assert out.returncode == 0, out.stdout + out.stderr
    failures = load.failures()
    rec = history(env)[-1]
    switch = next(p for p in rec["phases"] if p["name"] == "switch")
    last_v1 = load.last_start_of("v1")
    print(
        f"\ndeploy v2 under load: {len(load.samples)} requests at {load.rps():.0f} req/s, "
        f"{len(failures)} failed, switch phase {switch['seconds']:.2f}s"
    )
    assert not failures, failures[:5]
    assert len(load.samples) >= 5000
    assert load.versions_after(deployed_at) == {"v2"}
    # Once the switch is done no request lands on v1 any more.
    assert last_v1 is not None
    assert last_v1 < deployed_at
    assert rec["result"] == "success"
    assert rec["colour"] == "green"
    assert phase_names(rec)[:3] == ["lock", "reconcile", "images"]
    assert phase_names(rec).index("migrate") < phase_names(rec).index("switch")
    # The previous colour is kept warm.
    assert roles_running(docker_client, env).count("blue:backend") == 1

    load = LoadGen(env.live_url, total=1500, rate=250).start()
    time.sleep(1)
    t0 = time.monotonic()
    out = env.cli("rollback", "--approved-by", "bob")
    load.wait()
    assert out.returncode == 0, out.stdout + out.stderr
    last_v2 = load.last_start_of("v2")
    assert last_v2 is not None
    rollback_s = last_v2 - t0
    print(
        f"manual rollback: all traffic on v1 {rollback_s:.2f}s after the command started, "
        f"{len(load.failures())} failed"
    )
    assert not load.failures(), load.failures()[:5]
    assert rollback_s <= 3.0, out.stdout
    assert load.versions_after(last_v2 + 0.001) == {"v1"}
    rec = history(env)[-1]
    assert rec["kind"] == "rollback"
    assert rec["result"] == "success"
    assert rec["colour"] == "blue"

    # Past the retain period the idle colour is drained and removed; live is untouched.
    out = env.cli("reconcile", "--retain-seconds", "0")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "retain period of 0s is over" in out.stdout
    assert roles_running(docker_client, env) == ["-:router", "-:state", "blue:backend", "blue:frontend"]
    assert live_versions(env.live_url) == {"v1"}


def test_broken_release_is_rolled_back_without_failed_requests(env: Env) -> None:
    deploy_ok(env, "v1")
    load = LoadGen(env.live_url, total=5000, rate=250).start()
    time.sleep(1)
    # v3 passes preview but its /ready fails behind the live port: switched, then switched back.
    out = env.deploy("v3")
    assert out.returncode == 1, out.stdout + out.stderr
    # v4 fails readiness everywhere: never switched.
    out4 = env.deploy("v4", "--health-timeout", "4")
    load.wait()
    assert out4.returncode == 1, out4.stdout + out4.stderr
    print(f"\nbroken v3/v4 under load: {len(load.samples)} requests, {len(load.failures())} failed")
    assert not load.failures(), load.failures()[:5]
    assert live_versions(env.live_url) == {"v1"}
    recs = history(env)
    v3, v4 = recs[-2], recs[-1]
    assert v3["result"] == "rolled-back"
    assert "switch-back" in phase_names(v3)
    assert "ready -> HTTP 503" in v3["reason"], v3["reason"]
    assert v4["result"] == "failed"
    assert "switch" not in phase_names(v4)
    assert "health" in v4["reason"]


def test_failing_migration_stops_before_any_switch(env: Env, docker_client: Any) -> None:
    deploy_ok(env, "v1")
    out = env.deploy("v2", "--env", "backend:MIGRATE_FAIL=1")
    assert out.returncode == 1
    rec = history(env)[-1]
    assert rec["result"] == "failed"
    assert phase_names(rec)[-1] == "migrate"
    assert "start-idle" not in phase_names(rec)
    assert "0002_add_column failed" in rec["reason"]
    assert live_versions(env.live_url) == {"v1"}
    # Neither the migration container nor a green colour is left behind.
    assert roles_running(docker_client, env) == ["-:router", "-:state", "blue:backend", "blue:frontend"]


def test_second_concurrent_deploy_is_refused(env: Env) -> None:
    first = env.popen("deploy", "--backend", env.images["v1"], "--frontend", env.images["v1"])
    assert first.stdout is not None
    for line in first.stdout:
        if "phase reconcile: start" in line:
            break
    second = env.deploy("v2")
    rest = first.communicate(timeout=120)[0]
    assert first.returncode == 0, rest
    assert second.returncode == 3, second.stdout + second.stderr
    assert f"{env.project} is locked by deploy" in second.stderr
    assert f"pid {first.pid}" in second.stderr
    assert live_versions(env.live_url) == {"v1"}


@pytest.mark.parametrize(("kill_at", "last_done"), [("health", "start-idle"), ("verify", "switch")])
def test_sigkill_at_a_phase_then_rerun_converges(
    env: Env, docker_client: Any, kill_at: str, last_done: str
) -> None:
    deploy_ok(env, "v1")
    proc = env.popen("deploy", "--backend", env.images["v2"], "--frontend", env.images["v2"])
    assert proc.stdout is not None
    for line in proc.stdout:
        if f"phase {kill_at}: start" in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # Whatever was half done, the router still serves a healthy colour.
    assert live_versions(env.live_url) <= {"v1", "v2"}

    out = env.deploy("v2")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "taking over stale lock" in out.stdout
    assert live_versions(env.live_url) == {"v2"}
    recs = history(env)
    assert recs[-2]["result"] == "interrupted"
    assert f"after phase {last_done}" in recs[-2]["reason"]
    assert recs[-1]["result"] == "success"
    # Exactly the router, the ledger holder and two colours: no lock, no one-off, no orphan.
    assert roles_running(docker_client, env) == [
        "-:router",
        "-:state",
        "blue:backend",
        "blue:frontend",
        "green:backend",
        "green:frontend",
    ]
