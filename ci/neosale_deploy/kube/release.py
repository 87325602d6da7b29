"""Following a release on both Rollouts until it is healthy, or failed.

`wait_for` polls the Rollouts (and the new pods, for images that cannot be
pulled) until every one has reached a stage; an abort, a degraded Rollout or
stuck pods end the wait with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from neosale_deploy.errors import DeployError
from neosale_deploy.kube.api import KubeApi
from neosale_deploy.kube.jobs import BATCH, job_state, logs_tail
from neosale_deploy.kube.rollouts import HASH_LABEL, ROLLOUT, RolloutView, Stage, stuck_reason
from neosale_deploy.model import App

ROLLOUTS_API = "/apis/argoproj.io/v1alpha1"
ORDER = [Stage.STARTING, Stage.ANALYSING, Stage.PROMOTED, Stage.HEALTHY]
SMOKE_SELECTOR = "app.kubernetes.io/name=neosale-smoke"


class ReleaseFailed(DeployError):
    """Argo Rollouts aborted the release, or its pods cannot start."""


def view(api: KubeApi, app: App) -> RolloutView:
    return RolloutView.of(app, api.get(rollout_path(api, app)))


def rollout_path(api: KubeApi, app: App) -> str:
    return api.path("rollouts", ROLLOUT[app], api=ROLLOUTS_API)


def reached(v: RolloutView, stage: Stage) -> bool:
    return v.stage != Stage.FAILED and ORDER.index(v.stage) >= ORDER.index(stage)


def check(api: KubeApi, v: RolloutView) -> None:
    """Raise ReleaseFailed when this Rollout's release cannot succeed any more."""
    if v.stage == Stage.FAILED:
        raise ReleaseFailed(
            f"{ROLLOUT[v.app]}: aborted by Argo Rollouts: {v.message or v.phase}{failed_smoke(api)}"
        )
    if v.current and v.current != v.stable:
        pods = api.get(api.path("pods"), labelSelector=f"{HASH_LABEL}={v.current}").get("items", [])
        if reason := stuck_reason(pods):
            raise ReleaseFailed(f"{ROLLOUT[v.app]}: the new pods cannot start: {reason}")


def failed_smoke(api: KubeApi) -> str:
    """The last failed smoke analysis Job's output, for the message ("" if none)."""
    jobs = api.get(api.path("jobs", api=BATCH), labelSelector=SMOKE_SELECTOR).get("items", [])
    failed = [j for j in jobs if job_state(j) == "Failed"]
    if not failed:
        return ""
    last = max(failed, key=lambda j: str(j["metadata"].get("creationTimestamp", "")))
    return f"; smoke: {logs_tail(api, last['metadata']['name'], 8)}"


def wait_for(
    api: KubeApi, apps: Iterable[App], stage: Stage, timeout: float, fail_fast: bool = True
) -> list[RolloutView]:
    """Poll until every app's Rollout has reached `stage`; their views. Without
    fail_fast an aborted Rollout is waited on too (it clears once put back)."""
    deadline = time.monotonic() + timeout
    apps = list(apps)
    while True:
        views = [view(api, app) for app in apps]
        for v in views if fail_fast else ():
            check(api, v)
        if all(reached(v, stage) for v in views):
            return views
        if time.monotonic() > deadline:
            late = ", ".join(f"{ROLLOUT[v.app]} {v.stage} ({v.message or v.phase})" for v in views)
            raise ReleaseFailed(f"not {stage} within {timeout:.0f}s: {late}")
        time.sleep(0.5)
