"""Delivery functions against the real engine and the real Docker Engine: the
deployer and the smoke runner run inside the runner image the module builds,
reaching dockerd through its socket and the router through a host tunnel."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dagger import dag

from neosale_ci import Neosale
from neosale_ci.deploy import Environment
from neosale_ci.errors import StageError
from neosale_smoke import DEFAULT_CHECKS
from tests.deploy.helpers import Env, cleanup, live_versions, new_env, project_containers, revision

pytestmark = [pytest.mark.engine, pytest.mark.docker, pytest.mark.anyio]


@pytest.fixture
def target(tmp_path: Path, docker_client: Any, app_images: dict[str, str]) -> Iterator[Env]:
    e = new_env(tmp_path, app_images)
    yield e
    cleanup(docker_client, e.project)


def on_local_docker(mod: Neosale) -> Neosale:
    mod.docker_socket = dag.host().unix_socket("/var/run/docker.sock")
    return mod


def target_file(env: Env) -> Any:
    return dag.host().file(str(env.config))


async def test_staging_deploy_status_and_rollback(neosale: Neosale, target: Env) -> None:
    mod, cfg = on_local_docker(neosale), target_file(target)
    v1, v2 = target.images["v1"], target.images["v2"]

    out = await mod.deploy_staging(v1, v1, revision("v1"), approved_by="ci", target=cfg)
    assert "phase switch: done" in out
    assert live_versions(target.live_url) == {"v1"}

    out = await mod.deploy_staging(v2, v2, revision("v2"), target=cfg)
    assert "phase verify: done" in out
    assert live_versions(target.live_url) == {"v2"}

    status = json.loads(await mod.status(Environment.staging, as_json=True, target=cfg))
    assert status["colours"][status["live"]]["images"]["backend"] == v2

    out = await mod.rollback(Environment.staging, approved_by="oncall", target=cfg)
    assert live_versions(target.live_url) == {"v1"}
    assert "rollback" in out


async def test_rollback_of_a_removed_colour_takes_app_env(neosale: Neosale, target: Env) -> None:
    mod, cfg = on_local_docker(neosale), target_file(target)
    v1, v2, value = target.images["v1"], target.images["v2"], secrets.token_hex(8)
    app_env = dag.set_secret(f"app-env-{value}", f"backend:DATABASE_URL=postgres://u:{value}@db/neosale\n")
    await mod.deploy_staging(v1, v1, revision("v1"), target=cfg, app_env=app_env)
    await mod.deploy_staging(v2, v2, revision("v2"), target=cfg, app_env=app_env)
    out = target.cli("reconcile", "--retain-seconds", "0")  # v1's colour is past its retain period
    assert out.returncode == 0, out.stdout + out.stderr

    with pytest.raises(StageError) as err:
        await mod.rollback(Environment.staging, target=cfg)
    assert "backend:DATABASE_URL" in err.value.message
    assert value not in err.value.message
    assert live_versions(target.live_url) == {"v2"}

    out_text = await mod.rollback(Environment.staging, target=cfg, app_env=app_env)
    assert "redeploying" in out_text
    assert value not in out_text
    assert live_versions(target.live_url) == {"v1"}


async def test_deploy_refuses_images_of_another_commit(
    neosale: Neosale, target: Env, docker_client: Any
) -> None:
    mod = on_local_docker(neosale)
    v2 = target.images["v2"]
    with pytest.raises(StageError) as err:
        await mod.deploy_staging(v2, v2, revision("v1"), target=target_file(target))
    assert revision("v2") in err.value.message
    assert f"not the approved {revision('v1')!r}" in err.value.message
    running = [c for c in project_containers(docker_client, target.project) if c.status == "running"]
    assert not [c for c in running if "-blue-" in c.name or "-green-" in c.name]


async def test_promote_without_approval_touches_nothing(
    neosale: Neosale, target: Env, docker_client: Any
) -> None:
    mod, v1, sha = on_local_docker(neosale), target.images["v1"], revision("v1")
    with pytest.raises(StageError, match="no approval given"):
        await mod.promote(v1, v1, sha, approved_by="alice", target=target_file(target))
    with pytest.raises(StageError, match="does not name the sha being promoted"):
        await mod.promote(
            v1, v1, sha, approve=revision("v2"), approved_by="alice", target=target_file(target)
        )
    assert project_containers(docker_client, target.project) == []


async def test_delivery_needs_exactly_one_docker_host(neosale: Neosale, target: Env) -> None:
    v1 = target.images["v1"]
    with pytest.raises(StageError, match="expected exactly one docker host"):
        await neosale.deploy_staging(v1, v1, revision("v1"), target=target_file(target))


async def test_deploy_with_a_bad_digest_names_it(neosale: Neosale, target: Env) -> None:
    mod = on_local_docker(neosale)
    with pytest.raises(StageError) as err:
        await mod.deploy_staging(
            "neosale-backend:latest", target.images["v1"], revision("v1"), target=target_file(target)
        )
    assert "'neosale-backend:latest' is not a valid image reference: it has no digest" in err.value.message


SMOKE_ONLY_ROOT = """
[retry]
attempts = 1
[checks.root]
kind = "http"
path = "/"
expect_text = ["\\"version\\":\\"v1\\""]
"""
DISABLED = [c.name for c in DEFAULT_CHECKS]


async def test_smoke_reports_pass_and_fail(neosale: Neosale, target: Env, tmp_path: Path) -> None:
    mod, v1 = on_local_docker(neosale), target.images["v1"]
    await mod.deploy_staging(v1, v1, revision("v1"), target=target_file(target))

    # The built-in NEOSALE checks fail on the stand-in app: the verdict names them, the reports stay.
    failed = await mod.smoke(target.live_url)
    assert not failed.passed
    junit = await failed.reports.file("junit.xml").contents()
    assert "<failure" in junit
    assert "api_health" in junit
    with pytest.raises(StageError, match="api_health"):
        failed.verdict()

    config = tmp_path / "smoke.toml"
    config.write_text(SMOKE_ONLY_ROOT + "".join(f"[checks.{c}]\nenabled = false\n" for c in DISABLED))
    passed = await mod.smoke(target.live_url, config=dag.host().file(str(config)))
    assert passed.passed, passed.summary
    assert "PASSED" in passed.verdict()


async def test_pipeline_staging_is_refused_before_any_build_without_registry_or_url(neosale: Neosale) -> None:
    mod, sha, created = on_local_docker(neosale), revision("v1"), "2026-01-01T00:00:00Z"
    with pytest.raises(StageError, match="--staging needs --registry"):
        await mod.run(sha=sha, created=created, staging=True, staging_url="http://staging.example")
    with pytest.raises(StageError, match="staging_url '' is not an http"):
        await mod.run(sha=sha, created=created, staging=True, registry="127.0.0.1:5000/neosale")
