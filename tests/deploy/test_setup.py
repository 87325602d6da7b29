"""`setup`: PostgreSQL and Redis on a fresh target, created once, found again after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import POSTGRES_IMAGE, REDIS_IMAGE, Env, cleanup, new_env

pytestmark = pytest.mark.docker

PASSWORD = "pw-5e1d"


@pytest.fixture
def fresh(tmp_path: Path, docker_client: Any) -> Iterator[Env]:
    e = new_env(
        tmp_path,
        {},
        postgres_image=f'"{POSTGRES_IMAGE}"',
        redis_image=f'"{REDIS_IMAGE}"',
        database_url=f'"postgres://neosale:{PASSWORD}@postgres:5432/neosale"',
    )
    yield e
    cleanup(docker_client, e.project)


def test_deploy_names_what_is_missing_and_setup_creates_it_once(fresh: Env, docker_client: Any) -> None:
    missing = "127.0.0.1:5000/neosale-test/app@sha256:" + "0" * 64
    out = fresh.cli("deploy", "--backend", missing, "--frontend", missing)
    assert out.returncode == 2
    for name in ("postgres", "redis"):
        assert f"warning: accessory {name}: container {fresh.project}-{name} does not exist" in out.stdout

    outs = [fresh.cli("setup", "--health-timeout", "240", timeout=300)]
    assert outs[0].returncode == 0, outs[0].stdout + outs[0].stderr
    pg = docker_client.containers.get(f"{fresh.project}-postgres")
    redis = docker_client.containers.get(f"{fresh.project}-redis")
    ids = {pg.id, redis.id}
    for c, alias, volume in ((pg, "postgres", "postgres-data"), (redis, "redis", "redis-data")):
        assert c.attrs["State"]["Health"]["Status"] == "healthy"
        assert alias in c.attrs["NetworkSettings"]["Networks"][fresh.project]["Aliases"]
        assert c.attrs["Mounts"][0]["Name"] == f"{fresh.project}-{volume}"
    code, answer = pg.exec_run(
        ["psql", "-h", "127.0.0.1", "-U", "neosale", "-d", "neosale", "-tAc", "select 40 + 2"],
        environment={"PGPASSWORD": PASSWORD},
    )
    assert (code, answer.strip()) == (0, b"42")
    assert redis.exec_run(["redis-cli", "ping"])[1].strip() == b"PONG"

    # Idempotent: what runs is left alone, what is stopped is started.
    outs.append(fresh.cli("setup"))
    assert outs[1].returncode == 0, outs[1].stdout + outs[1].stderr
    assert f"{fresh.project}-postgres already running, healthy" in outs[1].stdout
    redis.stop(timeout=2)
    outs.append(fresh.cli("setup"))
    assert outs[2].returncode == 0, outs[2].stdout + outs[2].stderr
    assert f"{fresh.project}-redis started (was exited), healthy" in outs[2].stdout
    current = {docker_client.containers.get(f"{fresh.project}-{n}").id for n in ("postgres", "redis")}
    assert current == ids
    history = fresh.cli("history", "--json").stdout
    assert [text for text in (*(o.stdout + o.stderr for o in outs), history) if PASSWORD in text] == []
