"""One-off Jobs of a release: the migrations (once per backend image) and
production's pre-deploy backup, and waiting for a Job's end.

The migration Job takes the backend Rollout's pod spec (its env, Secrets,
security context, volumes) with the new image and the migrate command, so
it runs exactly as the release will. Credentials stay in Secrets.
"""

from __future__ import annotations

import copy
import hashlib
import shlex
import time
from collections.abc import Sequence
from typing import Any

from neosale_deploy.database import BACKUP_SCRIPT
from neosale_deploy.errors import DeployError
from neosale_deploy.kube.api import KubeApi, NotFound
from neosale_deploy.kube.rollouts import CONTAINER, stuck_reason
from neosale_deploy.kube.state import LABELS
from neosale_deploy.model import App
from neosale_deploy.reference import ImageRef

BATCH = "/apis/batch/v1"
POSTGRES_SECRET = "neosale-postgres"  # noqa: S105 (a Secret's name)
BACKUPS_CLAIM = "neosale-backups"
_KEEP = ("name", "image", "env", "envFrom", "securityContext", "volumeMounts", "resources")


def migrate_job_name(backend: ImageRef, argv: Sequence[str]) -> str:
    """One Job per backend image and migrate command: it runs once, however often a release is retried."""
    command = hashlib.sha256(shlex.join(argv).encode()).hexdigest()[:6]
    return f"neosale-migrate-{backend.digest.removeprefix('sha256:')[:12]}-{command}"


def migrate_job(name: str, backend: dict[str, Any], image: str, argv: Sequence[str]) -> dict[str, Any]:
    """The Job running `argv` in the backend Rollout's pod spec with `image`."""
    pod = copy.deepcopy(backend["spec"]["template"]["spec"])
    app = next(c for c in pod["containers"] if c["name"] == CONTAINER[App.BACKEND])
    job_container = {k: v for k, v in app.items() if k in _KEEP}
    job_container.update({"image": image, "command": list(argv)})
    pod.update({"containers": [job_container], "restartPolicy": "Never"})
    return _job(name, "neosale-migrate", pod)


def postgres_env() -> list[dict[str, Any]]:
    """libpq's variables for the namespace's PostgreSQL, credentials from its Secret."""
    return [{"name": "PGHOST", "value": "neosale-postgres"}] + [
        {"name": pg, "valueFrom": {"secretKeyRef": {"name": POSTGRES_SECRET, "key": key}}}
        for pg, key in (
            ("PGUSER", "POSTGRES_USER"),
            ("PGPASSWORD", "POSTGRES_PASSWORD"),
            ("PGDATABASE", "POSTGRES_DB"),
        )
    ]


def backup_job(name: str, postgres_image: str, file: str) -> dict[str, Any]:
    """pg_dump -Fc of the namespace's database into the backups claim as `file`."""
    env = postgres_env()
    pod = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "securityContext": {"runAsUser": 999, "runAsGroup": 999, "fsGroup": 999},
        "containers": [
            {
                "name": "backup",
                "image": postgres_image,
                "command": ["sh", "-c", BACKUP_SCRIPT, "backup", f"/backups/{file}"],
                "env": env,
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "backups", "mountPath": "/backups"}],
            }
        ],
        "volumes": [{"name": "backups", "persistentVolumeClaim": {"claimName": BACKUPS_CLAIM}}],
    }
    return _job(name, "neosale-backup", pod)


def _job(name: str, role: str, pod: dict[str, Any]) -> dict[str, Any]:
    labels = {**LABELS, "app.kubernetes.io/name": role}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 86400,
            "template": {"metadata": {"labels": labels}, "spec": pod},
        },
    }


def job_state(job: dict[str, Any]) -> str | None:
    """'Complete' or 'Failed' once the Job has ended, else None."""
    for cond in (job.get("status") or {}).get("conditions") or []:
        if cond.get("type") in ("Complete", "Failed") and cond.get("status") == "True":
            return str(cond["type"])
    return None


def run_job(api: KubeApi, body: dict[str, Any], timeout: float) -> str:
    """Create the Job (or find the one a previous run created), wait for its end; its log's tail.

    A Job that already completed is not run again: a rerun after a crash goes on.
    """
    name = body["metadata"]["name"]
    path = api.path("jobs", name, api=BATCH)
    try:
        api.get(path)
    except NotFound:
        api.create(api.path("jobs", api=BATCH), body)
    deadline = time.monotonic() + timeout
    while (state := job_state(api.get(path))) is None:
        pods = api.get(api.path("pods"), labelSelector=f"job-name={name}").get("items", [])
        if reason := stuck_reason(pods):
            api.delete(path)
            raise DeployError(f"job {name} cannot start: {reason}")
        if time.monotonic() > deadline:
            api.delete(path)
            raise DeployError(f"job {name} did not finish within {timeout:.0f}s: {logs_tail(api, name)}")
        time.sleep(1)
    tail = logs_tail(api, name)
    if state == "Failed":
        api.delete(path)  # the next run tries again
        raise DeployError(f"job {name} failed: {tail}")
    return tail


def logs_tail(api: KubeApi, job: str, lines: int = 20) -> str:
    pods = api.get(api.path("pods"), labelSelector=f"job-name={job}").get("items", [])
    if not pods:
        return "(no pod)"
    try:
        return api.text(api.path("pods", pods[-1]["metadata"]["name"]) + "/log", tailLines=str(lines)).strip()
    except NotFound:
        return "(no log)"
