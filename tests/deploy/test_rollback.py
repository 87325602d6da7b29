"""`rollback` against real containers: it only ever returns to a completed release,
and redeploying a removed colour needs the app's env, checked before anything changes."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from neosale_deploy.record import Phase

from .helpers import Env, live_versions, project_containers
from .test_bluegreen import KillPoint, deploy_ok, history, kill_deploy_at, phase_names, roles_running

pytestmark = pytest.mark.docker


def serves(url: str, version: str) -> bool:
    try:
        return live_versions(url, n=3) == {version}
    except (httpx.HTTPError, ValueError):  # not up yet, or nginx's 502 page
        return False


def status_json(env: Env) -> dict[str, Any]:
    out = env.cli("status", "--json")
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout))


def container_ids(client: Any, env: Env) -> set[str]:
    return {c.id for c in project_containers(client, env.project)}


def test_rollback_after_a_deploy_killed_in_health_never_makes_it_live(env: Env, docker_client: Any) -> None:
    deploy_ok(env, "v1")
    v1_id = history(env)[-1]["id"]
    v2 = env.images["v2"]
    kill_deploy_at(env, docker_client, KillPoint(Phase.HEALTH), ["--backend", v2, "--frontend", v2])
    # The killed deploy's colour comes up healthy on preview: warm, but never vetted behind the live port.
    preview = f"http://127.0.0.1:{env.preview_port}"
    deadline = time.monotonic() + 60
    while not serves(preview, "v2"):
        assert time.monotonic() < deadline, "the killed deploy's colour never answered on preview"
        time.sleep(0.5)

    out = env.cli("status")
    assert out.returncode == 0, out.stderr
    colour_lines = {
        line.split()[0]: line for line in out.stdout.splitlines() if line[:5] in ("blue ", "green")
    }
    assert colour_lines["blue"].split()[1] == "LIVE", out.stdout
    assert colour_lines["green"].split()[1] == "INTERRUPTED", out.stdout
    assert "WARNING green runs deploy" in out.stdout
    st = status_json(env)
    assert (st["live"], st["colours"]["blue"]["release"]) == ("blue", "completed")
    assert st["colours"]["green"]["release"] == "interrupted"
    assert len(st["warnings"]) == 1

    out = env.cli("rollback", "--approved-by", "oncall")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "nothing to roll back to: live blue runs the only completed release" in out.stderr
    assert "green holds deploy" in out.stderr
    assert live_versions(env.live_url) == {"v1"}
    assert status_json(env)["live"] == "blue"
    rec = history(env)[-1]
    assert (rec["kind"], rec["result"]) == ("rollback", "failed")
    assert "switch" not in phase_names(rec)

    # The rerun converges, and a rollback after a completed v2 goes back to v1, warm.
    deploy_ok(env, "v2")
    out = env.cli("rollback")
    assert out.returncode == 0, out.stdout + out.stderr
    assert live_versions(env.live_url) == {"v1"}
    assert status_json(env)["colours"]["blue"]["deploy_id"] == v1_id
    assert status_json(env)["warnings"] == []


def test_rollback_to_a_removed_colour_needs_the_apps_env(
    env: Env, docker_client: Any, tmp_path: Path
) -> None:
    secret = secrets.token_hex(8)
    env_file = tmp_path / "app.env"
    env_file.write_text(
        f"backend:DATABASE_URL=postgres://u:{secret}@db/neosale\nfrontend:SESSION_KEY={secret}\n"
    )
    deploy_ok(env, "v1", "--env-file", str(env_file))
    v1_id = history(env)[-1]["id"]
    deploy_ok(env, "v2", "--env-file", str(env_file))
    out = env.cli("reconcile", "--retain-seconds", "0")  # v1's colour is past its retain period
    assert out.returncode == 0, out.stdout + out.stderr
    assert roles_running(docker_client, env) == ["-:router", "-:state", "green:backend", "green:frontend"]
    before = container_ids(docker_client, env)

    out = env.cli("rollback")
    assert out.returncode == 2, out.stdout + out.stderr
    assert "backend:DATABASE_URL, frontend:SESSION_KEY" in out.stderr
    assert "--env-file" in out.stderr
    assert secret not in out.stdout + out.stderr
    assert container_ids(docker_client, env) == before  # nothing started, removed or switched
    assert live_versions(env.live_url) == {"v2"}
    rec = history(env)[-1]
    assert (rec["kind"], rec["result"]) == ("rollback", "failed")
    assert secret not in json.dumps(rec)

    out = env.cli("rollback", "--env-file", str(env_file))
    assert out.returncode == 0, out.stdout + out.stderr
    assert live_versions(env.live_url) == {"v1"}
    rec = history(env)[-1]
    assert (rec["kind"], rec["result"], rec["redeploy_of"]) == ("rollback", "success", v1_id)
    backend = docker_client.containers.get(f"{env.project}-blue-backend")
    assert f"DATABASE_URL=postgres://u:{secret}@db/neosale" in backend.attrs["Config"]["Env"]
