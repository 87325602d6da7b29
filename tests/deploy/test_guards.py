"""Bad input is refused with a clear error and live traffic unchanged; production backups restore."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from neosale_deploy.model import load_target
from neosale_deploy.state import VolumeStore

from .helpers import POSTGRES_IMAGE, Env, live_versions, start_postgres

pytestmark = pytest.mark.docker


def test_bad_input_is_refused_and_traffic_unchanged(env: Env, docker_client: Any) -> None:
    tag_only = "127.0.0.1:5000/neosale-test/app:v1"
    out = env.cli("deploy", "--backend", tag_only, "--frontend", env.images["v1"])
    assert out.returncode == 2
    assert f"--backend '{tag_only}' is not a valid image reference: it has no digest" in out.stderr

    out = env.cli("status", "--host", "tcp://no-such-host.invalid:2376")
    assert out.returncode == 2
    assert "docker host 'tcp://no-such-host.invalid:2376' does not answer" in out.stderr

    assert env.deploy("v1").returncode == 0
    missing = "127.0.0.1:5000/neosale-test/app@sha256:" + "0" * 64
    out = env.cli("deploy", "--backend", missing, "--frontend", missing)
    assert out.returncode == 2
    assert f"--backend image '{missing}' does not exist" in out.stderr
    assert live_versions(env.live_url) == {"v1"}

    # The router deleted by hand: status says so, a rerun recreates it on the live colour.
    docker_client.containers.get(f"{env.project}-router").remove(force=True)
    out = env.cli("status")
    assert out.returncode == 0
    assert "MISSING" in out.stdout
    out = env.cli("reconcile")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "router config: live=blue" in out.stdout
    assert live_versions(env.live_url) == {"v1"}

    # A corrupted ledger line is named, and nothing runs until it is repaired.
    store = VolumeStore(docker_client, load_target(str(env.config)))
    lines = len(store.read().splitlines())
    store.append('{"id": "broken\n')
    for args in (("history",), ("deploy", "--backend", env.images["v2"], "--frontend", env.images["v2"])):
        out = env.cli(*args)
        assert out.returncode == 2, out.stdout + out.stderr
        assert f"line {lines + 1} is corrupted" in out.stderr
    assert live_versions(env.live_url) == {"v1"}


def _psql(pg: Any, sql: str) -> str:
    code, out = pg.exec_run(["psql", "-U", "postgres", "-d", "neosale", "-tAc", sql])
    assert code == 0, out
    return bytes(out).decode().strip()


def test_production_deploy_backs_up_and_restore_brings_data_back(env: Env, docker_client: Any) -> None:
    pg, url = start_postgres(docker_client, env)
    _psql(pg, "CREATE TABLE orders (id int); INSERT INTO orders VALUES (1), (2)")

    db = f"--database-url={url}?schema=public"
    out = env.deploy("v1", "--production", "--approved-by", "carol", db, f"--postgres-image={POSTGRES_IMAGE}")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "phase backup: done" in out.stdout
    hist = env.cli("history", "--json")
    rec = [json.loads(line) for line in hist.stdout.splitlines() if '"backup"' in line][-1]
    assert rec["approved_by"] == "carol"
    assert rec["backup"]["bytes"] > 0
    assert ":pw@" not in hist.stdout  # credentials never reach the ledger
    backup_id = rec["backup"]["id"]

    _psql(pg, "DELETE FROM orders")
    out = env.cli("restore", backup_id, db, f"--postgres-image={POSTGRES_IMAGE}")
    assert out.returncode == 0, out.stdout + out.stderr
    assert _psql(pg, "SELECT count(*) FROM orders") == "2"

    out = env.cli("restore", "no-such-backup", db)
    assert out.returncode == 2
    assert "backup 'no-such-backup' is not in the ledger" in out.stderr
    pg.reload()
    assert pg.status == "running"  # the shared database is never touched by a deploy


def test_project_smoke_runner_gates_the_switch(env: Env, tmp_path: Path) -> None:
    assert env.deploy("v1").returncode == 0
    smoke_toml = tmp_path / "smoke.toml"
    smoke_toml.write_text("[retry]\nattempts = 1\n")
    # The NEOSALE checks run through the preview port and fail on the stand-in app.
    out = env.deploy("v2", "--smoke", "neosale_smoke", f"--smoke-config={smoke_toml}")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "phase smoke: FAILED" in out.stdout
    assert "backend_health" in out.stdout
    assert "phase switch" not in out.stdout
    assert live_versions(env.live_url) == {"v1"}
