"""neosale_deploy.kube's pure pieces: a Rollout's stage, the release patch,
stuck pods and the migration Job, from API-shaped JSON."""

from __future__ import annotations

from typing import Any

import pytest

from neosale_deploy.kube.jobs import backup_job, job_state, migrate_job, migrate_job_name
from neosale_deploy.kube.rollouts import RolloutView, Stage, release_patch, stuck_reason
from neosale_deploy.model import App
from neosale_deploy.reference import ImageRef


def rollout(status: dict[str, Any], generation: int = 2) -> dict[str, Any]:
    return {
        "metadata": {"name": "neosale-backend", "generation": generation},
        "spec": {
            "template": {
                "spec": {
                    "securityContext": {"runAsNonRoot": True},
                    "containers": [
                        {
                            "name": "backend",
                            "image": "r/backend@sha256:" + "a" * 64,
                            "envFrom": [{"secretRef": {"name": "neosale-backend"}}],
                            "readinessProbe": {"httpGet": {"path": "/ready"}},
                        },
                        {"name": "sidecar", "image": "side:1"},
                    ],
                }
            },
            "strategy": {
                "blueGreen": {
                    "activeService": "neosale-backend",
                    "prePromotionAnalysis": {
                        "templates": [{"templateName": "neosale-smoke"}],
                        "args": [
                            {"name": "base-url", "value": "http://p"},
                            {"name": "expect-sha", "value": ""},
                        ],
                    },
                }
            },
        },
        "status": status,
    }


def status(
    phase: str, current: str, stable: str, active: str, preview: str = "", **extra: Any
) -> dict[str, Any]:
    bg = {"activeSelector": active, "previewSelector": preview}
    return {
        "phase": phase,
        "currentPodHash": current,
        "stableRS": stable,
        "blueGreen": bg,
        "observedGeneration": "2",
        **extra,
    }


@pytest.mark.parametrize(
    ("st", "stage"),
    [
        (status("Progressing", "new", "old", "old", "old"), Stage.STARTING),
        (status("Paused", "new", "old", "old", "new"), Stage.ANALYSING),
        (status("Progressing", "new", "old", "new", "new"), Stage.PROMOTED),
        (status("Healthy", "new", "new", "new", "new"), Stage.HEALTHY),
        (status("Degraded", "new", "old", "old", "new"), Stage.FAILED),
        (status("Progressing", "new", "old", "old", "new", abort=True), Stage.FAILED),
    ],
)
def test_the_stage_of_a_release_comes_from_the_rollout_status(st: dict[str, Any], stage: Stage) -> None:
    assert RolloutView.of(App.BACKEND, rollout(st)).stage == stage


def test_a_healthy_status_the_controller_has_not_seen_the_spec_of_is_not_settled() -> None:
    st = status("Healthy", "h", "h", "h", "h")
    assert not RolloutView.of(App.BACKEND, rollout(st, generation=3)).settled
    assert RolloutView.of(App.BACKEND, rollout(st, generation=2)).settled


def test_the_release_patch_changes_the_app_image_and_the_expected_sha_only() -> None:
    obj = rollout({})
    patch = release_patch(obj, App.BACKEND, "r/backend@sha256:" + "b" * 64, "c0ffee")
    containers = patch["spec"]["template"]["spec"]["containers"]
    assert [c["image"] for c in containers] == ["r/backend@sha256:" + "b" * 64, "side:1"]
    assert containers[0]["envFrom"] == [{"secretRef": {"name": "neosale-backend"}}]  # sent whole
    args = patch["spec"]["strategy"]["blueGreen"]["prePromotionAnalysis"]["args"]
    assert args == [{"name": "base-url", "value": "http://p"}, {"name": "expect-sha", "value": "c0ffee"}]
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"].endswith("a" * 64)  # not mutated


def test_pods_that_cannot_pull_their_image_are_stuck_others_are_not() -> None:
    waiting = {"waiting": {"reason": "ImagePullBackOff", "message": "manifest unknown"}}
    pods = [
        {"metadata": {"name": "ok"}, "status": {"containerStatuses": [{"state": {"running": {}}}]}},
        {"metadata": {"name": "bad"}, "status": {"containerStatuses": [{"state": waiting}]}},
    ]
    assert stuck_reason(pods) == "pod bad: ImagePullBackOff: manifest unknown"
    assert stuck_reason(pods[:1]) is None
    starting = {"waiting": {"reason": "ContainerCreating"}}
    assert (
        stuck_reason([{"metadata": {"name": "p"}, "status": {"containerStatuses": [{"state": starting}]}}])
        is None
    )


def test_the_migration_job_runs_the_backend_pod_spec_with_the_new_image_and_command() -> None:
    job = migrate_job(
        "neosale-migrate-x", rollout({}), "r/backend@sha256:" + "b" * 64, ("node", "dist/migrate.js")
    )
    pod = job["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["image"].endswith("b" * 64)
    assert c["command"] == ["node", "dist/migrate.js"]
    assert c["envFrom"] == [{"secretRef": {"name": "neosale-backend"}}]
    assert "readinessProbe" not in c
    assert pod["restartPolicy"] == "Never"
    assert pod["securityContext"] == {"runAsNonRoot": True}
    assert job["spec"]["backoffLimit"] == 0


def test_the_backup_job_takes_credentials_from_the_secret_never_inline() -> None:
    job = backup_job("neosale-backup-1", "postgres@sha256:" + "d" * 64, "ns-1.dump")
    (c,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in c["env"]}
    assert env["PGPASSWORD"] == {
        "name": "PGPASSWORD",
        "valueFrom": {"secretKeyRef": {"name": "neosale-postgres", "key": "POSTGRES_PASSWORD"}},
    }
    assert c["command"][-1] == "/backups/ns-1.dump"


@pytest.mark.parametrize(
    ("conditions", "state"),
    [
        ([], None),
        ([{"type": "Complete", "status": "True"}], "Complete"),
        ([{"type": "Failed", "status": "True"}], "Failed"),
        ([{"type": "Failed", "status": "False"}], None),
    ],
)
def test_a_job_has_ended_only_on_a_true_complete_or_failed_condition(
    conditions: list[dict[str, str]], state: str | None
) -> None:
    assert job_state({"status": {"conditions": conditions}}) == state


def test_a_migration_job_is_named_by_the_backend_digest_and_the_command() -> None:
    image = ImageRef.parse("r/backend@sha256:" + "b" * 64, "--backend")
    name = migrate_job_name(image, ("node", "dist/migrate.js"))
    assert name == migrate_job_name(image, ("node", "dist/migrate.js"))
    assert name.startswith("neosale-migrate-bbbbbbbbbbbb-")
    assert name != migrate_job_name(image, ("node", "dist/other.js"))
    assert len(name) <= 63  # a label value (job-name) has to fit
