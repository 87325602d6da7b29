"""What read-only commands leave behind, and the ledger across commands that follow each other."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from neosale_deploy.deployer import Deployer, Run
from neosale_deploy.model import LABEL_ENV, LABEL_PROJECT, load_target

from .helpers import Env, cleanup, new_env, project_containers

pytestmark = pytest.mark.docker


@pytest.fixture
def bare(tmp_path: Path, docker_client: Any) -> Iterator[Env]:
    """A target that was never deployed to (no app images needed)."""
    e = new_env(tmp_path, {})
    yield e
    cleanup(docker_client, e.project)


def project_objects(client: Any, project: str) -> list[str]:
    """Every container, volume and network of the project, by label or by name."""
    label = {"label": f"{LABEL_PROJECT}={project}"}
    names = [f"container {c.name}" for c in project_containers(client, project)]
    names += [f"volume {v.name}" for v in client.volumes.list(filters=label)]
    names += [f"volume {v.name}" for v in client.volumes.list() if v.name.startswith(project)]
    names += [f"network {n.name}" for n in client.networks.list(filters=label)]
    names += [f"network {n.name}" for n in client.networks.list(names=[project])]
    return sorted(set(names))


def test_read_only_commands_on_a_new_target_create_nothing(bare: Env, docker_client: Any) -> None:
    assert project_objects(docker_client, bare.project) == []
    for args in (("status",), ("status", "--json"), ("history",), ("history", "--json")):
        out = bare.cli(*args)
        assert out.returncode == 0, out.stdout + out.stderr
    out = bare.cli("rollback")
    assert out.returncode == 1
    assert f"{bare.project} has no live colour to roll back from; deploy first" in out.stderr
    assert project_objects(docker_client, bare.project) == []


def finish(run: Run) -> int:
    run.finish("success", "done")
    return 0


def test_a_record_written_by_a_finishing_command_is_not_lost(bare: Env, docker_client: Any) -> None:
    target = load_target(str(bare.config))
    first, second = Deployer(target, io.StringIO()), Deployer(target, io.StringIO())
    second.ledger.entries()  # the second command starts: it checks the ledger before the lock
    # The first finishes meanwhile: its final record is written under its lock.
    run_a, run_b = Run(first, "reconcile"), Run(second, "reconcile")
    assert first._locked(run_a, lambda: finish(run_a)) == 0
    assert second._locked(run_b, lambda: finish(run_b)) == 0
    results = {e["id"]: e["result"] for e in Deployer(target, io.StringIO()).history()}
    assert results == {run_a.id: "success", run_b.id: "success"}


def test_an_env_change_with_the_same_images_rolls_out(env: Env, docker_client: Any, tmp_path: Path) -> None:
    secrets = ("first-0f9e", "rotated-7c1d\nline two")
    env_file = tmp_path / "app.env"
    env_file.write_text("backend:API_TOKEN=first-0f9e\n")
    outs = [env.deploy("v1", "--env-file", str(env_file))]
    assert outs[0].returncode == 0, outs[0].stdout + outs[0].stderr
    env_file.write_text('backend:API_TOKEN="rotated-7c1d\\nline two"\n')
    outs.append(env.deploy("v1", "--env-file", str(env_file)))
    assert outs[1].returncode == 0, outs[1].stdout + outs[1].stderr
    assert "same images as live blue; the env of backend changed: rolling out" in outs[1].stdout
    assert "phase switch: done" in outs[1].stdout
    backend = docker_client.containers.get(f"{env.project}-green-backend")
    assert f"API_TOKEN={secrets[1]}" in backend.attrs["Config"]["Env"]
    assert backend.labels[LABEL_ENV].startswith("hmac-sha256:")
    outs.append(env.deploy("v1", "--env-file", str(env_file)))
    assert "already live on green; nothing to do" in outs[2].stdout
    # Neither a value nor a plain hash of one where labels and the ledger are read.
    labels = json.dumps([c.labels for c in project_containers(docker_client, env.project)])
    seen = [labels, env.cli("history", "--json").stdout, *(o.stdout + o.stderr for o in outs)]
    for secret in secrets:
        for shown in (secret, hashlib.sha256(secret.encode()).hexdigest()):
            assert not [text for text in seen if shown in text]
