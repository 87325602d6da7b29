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
from neosale_deploy.kube.rollouts import HASH_LABEL, ROLLOUT, RolloutView, Stage, stuck_reason
from neosale_deploy.model import App

ROLLOUTS_API = "/apis/argoproj.io/v1alpha1"
ORDER = [Stage.STARTING, Stage.ANALYSING, Stage.PROMOTED, Stage.HEALTHY]


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
        raise ReleaseFailed(f"{ROLLOUT[v.app]}: aborted by Argo Rollouts: {v.message or v.phase}")
    if v.current and v.current != v.stable:
        pods = api.get(api.path("pods"), labelSelector=f"{HASH_LABEL}={v.current}").get("items", [])
        if reason := stuck_reason(pods):
            raise ReleaseFailed(f"{ROLLOUT[v.app]}: the new pods cannot start: {reason}")


def wait_for(api: KubeApi, apps: Iterable[App], stage: Stage, timeout: float) -> list[RolloutView]:
    """Poll until every app's Rollout has reached `stage`; their views."""
    deadline = time.monotonic() + timeout
    apps = list(apps)
    while True:
        views = [view(api, app) for app in apps]
        for v in views:
            check(api, v)
        if all(reached(v, stage) for v in views):
            return views
        if time.monotonic() > deadline:
            late = ", ".join(f"{ROLLOUT[v.app]} {v.stage} ({v.message or v.phase})" for v in views)
            raise ReleaseFailed(f"not {stage} within {timeout:.0f}s: {late}")
        time.sleep(0.5)
