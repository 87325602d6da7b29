"""Blue-green deploys against real containers: zero failed requests, automatic and manual rollback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import pytest

from neosale_deploy import dockerhost as dh
from neosale_deploy.model import LABEL_PROJECT, LABEL_ROLE
from neosale_deploy.record import Phase

from .helpers import (
    POSTGRES_IMAGE,
    Env,
    LoadGen,
    cli_argv,
    live_versions,
    project_containers,
    start_postgres,
)

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
    # The colours run confined: read-only root, tmpfs where the apps write, no capabilities.
    for role, writable in (("backend", {"/tmp"}), ("frontend", {"/tmp", "/app/.next/cache"})):
        host = docker_client.containers.get(f"{env.project}-blue-{role}").attrs["HostConfig"]
        assert host["ReadonlyRootfs"] is True
        assert set(host["Tmpfs"]) == writable
        assert host["CapDrop"] == ["ALL"]
        assert "no-new-privileges" in host["SecurityOpt"]

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
    load.check(5000)
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
    load.check(1500)
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
    load.check(5000)
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


# The phases a deploy prints, in order (Deployer._locked, then Deployer._roll_out);
# each case checks this against the ledger of its first deploy.
DEPLOY_PHASES = (
    Phase.LOCK,
    Phase.RECONCILE,
    Phase.IMAGES,
    Phase.MIGRATE,
    Phase.START_IDLE,
    Phase.HEALTH,
    Phase.SMOKE,
    Phase.SWITCH,
    Phase.VERIFY,
)
PRODUCTION_PHASES = (*DEPLOY_PHASES[:3], Phase.BACKUP, *DEPLOY_PHASES[3:])

# Runs the CLI, freezing itself (SIGSTOP) right after it printed NSDT_STOP_AT: the
# test's SIGKILL then lands at exactly that point instead of wherever the race goes.
FREEZE_AT_LINE = """
import os, signal, sys
from neosale_deploy import deployer
from neosale_deploy.cli import main
say = deployer.Deployer.say
def say_then_freeze(self, msg):
    say(self, msg)
    if os.environ["NSDT_STOP_AT"] and msg.startswith(os.environ["NSDT_STOP_AT"]):
        os.kill(os.getpid(), signal.SIGSTOP)
deployer.Deployer.say = say_then_freeze
sys.exit(main())
"""
SLOW_MIGRATION = "node -e \"setTimeout(() => console.log('migrate: slow one applied'), 3000)\""
LOAD_RATE = 100.0


@dataclass(frozen=True)
class KillPoint:
    """Where the deployer is SIGKILLed: `start` right after `phase P: start`; `done` after
    `phase P: done` but before the ledger records it; `one-off` while P's one-off container runs."""

    phase: Phase
    at: str = "start"
    production: bool = False

    @property
    def order(self) -> tuple[str, ...]:
        return PRODUCTION_PHASES if self.production else DEPLOY_PHASES

    @property
    def recorded(self) -> tuple[str, ...]:
        """The phases the killed run's ledger entry holds (the first save follows the lock)."""
        return self.order[: self.order.index(self.phase)]

    @property
    def lock_held(self) -> bool:
        return bool(self.recorded) or self.at != "start"

    def __str__(self) -> str:
        return f"{self.phase}-{self.at}" + ("-production" if self.production else "")


KILL_POINTS = [
    *(KillPoint(p) for p in DEPLOY_PHASES),
    KillPoint(Phase.LOCK, "done"),  # the lock is held, the ledger has no entry yet
    KillPoint(Phase.MIGRATE, "one-off"),  # a migration container outlives the deployer
    KillPoint(Phase.SWITCH, "done"),  # the router is switched, the ledger does not say so
    KillPoint(Phase.BACKUP, production=True),
]


def kill_deploy_at(env: Env, docker_client: Any, kp: KillPoint, args: list[str]) -> str:
    """Start a deploy, SIGKILL it at `kp`; returns what it printed."""
    stop_at = f"phase {kp.phase}: {kp.at}" if kp.at in ("start", "done") else ""
    argv = [sys.executable, "-c", FREEZE_AT_LINE, *cli_argv(env, "deploy", *args)[3:]]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env={**os.environ, "NSDT_STOP_AT": stop_at},
    )
    watchdog = threading.Timer(90, proc.kill)
    watchdog.start()
    printed: list[str] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            printed.append(line)
            if stop_at and f"] {stop_at}" in line:
                proc.send_signal(signal.SIGKILL)
                break
            if kp.at == "one-off" and f"] phase {kp.phase}: start" in line:
                # The deployer waits on its one-off container: kill it while that runs.
                labels = [f"{LABEL_PROJECT}={env.project}", f"{LABEL_ROLE}={kp.phase}"]
                deadline = time.monotonic() + 10
                while not docker_client.containers.list(filters={"label": labels, "status": "running"}):
                    assert time.monotonic() < deadline, "".join(printed)
                    time.sleep(0.05)
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:  # a failed assertion above: do not leave it running
            proc.kill()
            proc.wait(timeout=30)
        watchdog.cancel()
        if proc.stdout is not None:
            printed.append(proc.stdout.read())
            proc.stdout.close()
    out = "".join(printed)
    assert proc.returncode == -signal.SIGKILL, out
    # Killed exactly there: it printed nothing after.
    last_phase_line = [line for line in out.splitlines() if "] phase " in line][-1]
    assert (stop_at or f"phase {kp.phase}: start") in last_phase_line, out
    return out


def containers_by_name(client: Any, project: str) -> list[str]:
    return sorted(c.name for c in client.containers.list(all=True) if c.name.startswith(f"{project}-"))


@pytest.mark.parametrize("kp", KILL_POINTS, ids=str)
def test_sigkill_at_a_phase_then_rerun_converges(env: Env, docker_client: Any, kp: KillPoint) -> None:
    t0 = time.monotonic()
    prod: list[str] = []
    if kp.production:
        prod = [
            "--production",
            f"--database-url={start_postgres(docker_client, env)[1]}",
            f"--postgres-image={POSTGRES_IMAGE}",
        ]
    deploy_ok(env, "v1", *prod)
    assert phase_names(history(env)[-1]) == list(kp.order)  # the order the kill points are derived from
    args = ["--backend", env.images["v2"], "--frontend", env.images["v2"], *prod]
    if kp.at == "one-off":
        args += ["--migrate-command", SLOW_MIGRATION]

    # From before the kill until the rerun converged, every request through the live port
    # is answered 200 by v1 or v2: the router never points at an unhealthy colour.
    converged_on: set[str] = set()
    load = LoadGen(env.live_url, total=10**6, rate=LOAD_RATE, threads=4).start()
    try:
        time.sleep(0.5)
        killed_at = time.monotonic()
        killed_out = kill_deploy_at(env, docker_client, kp, args)
        assert live_versions(env.live_url, n=5) <= {"v1", "v2"}
        rerun_at = time.monotonic()
        out = env.cli("deploy", *args)
        rerun_s = time.monotonic() - rerun_at
        if out.returncode == 0:
            converged_on = live_versions(env.live_url)
            time.sleep(0.5)
    finally:
        load.stop()
    span = time.monotonic() - killed_at
    failures = load.failures()
    served = {s.version for s in load.samples}
    print(
        f"\nkill at {kp}: {len(load.samples)} requests at {load.rps():.0f} req/s, {len(failures)} failed, "
        f"versions {sorted(served)}, rerun {rerun_s:.2f}s, case {time.monotonic() - t0:.2f}s"
    )
    assert not failures, failures[:5]
    assert served <= {"v1", "v2"}
    assert "v2" in served
    assert len(load.samples) >= 0.7 * LOAD_RATE * span  # no stall: the load ran throughout
    assert out.returncode == 0, killed_out + out.stdout + out.stderr
    assert converged_on == {"v2"}

    assert ("taking over stale lock" in out.stdout) == kp.lock_held, out.stdout
    recs = history(env)
    assert not [r for r in recs if r["result"] == "running"]
    assert recs[-1]["result"] == "success"
    if kp.recorded:
        killed = recs[-2]
        assert killed["result"] == "interrupted"
        assert phase_names(killed) == list(kp.recorded)
        assert f"after phase {kp.recorded[-1]}" in killed["reason"], killed["reason"]
        assert f"was interrupted after phase {kp.recorded[-1]}" in out.stdout
    else:  # killed before its first ledger write: nothing to mark
        assert [r["result"] for r in recs] == ["success", "success"]
    if kp.at == "one-off":
        assert "waiting for leftover one-off" in out.stdout
        assert "removing leftover one-off container" in out.stdout
    # Exactly the router, the ledger holder and two colours, all running: no lock, one-off or orphan.
    expected = ["-:router", "-:state", "blue:backend", "blue:frontend", "green:backend", "green:frontend"]
    if kp.production:
        expected = sorted([*expected, "-:postgres"])
    assert roles_running(docker_client, env) == expected
    assert len(containers_by_name(docker_client, env.project)) == len(expected)
    for c in project_containers(docker_client, env.project):
        if dh.label(c, LABEL_ROLE) != "state":  # the ledger holder is never started
            assert c.status == "running", (c.name, c.status)
