"""An Argo Rollout as the deployer sees it, and the patches a release makes.

Pure functions over the API's JSON: unit-tested without a cluster.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from neosale_deploy.model import App

# The Rollout and its container for each app (deploy/kubernetes/base).
ROLLOUT = {App.BACKEND: "neosale-backend", App.FRONTEND: "neosale-frontend"}
CONTAINER = {App.BACKEND: "backend", App.FRONTEND: "frontend"}
HASH_LABEL = "rollouts-pod-template-hash"
# Waiting reasons of a container that will never start on its own.
STUCK = frozenset({"ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError"})


class Stage(StrEnum):
    """Where a blue-green release of one Rollout is (from its status)."""

    STARTING = "starting"  # the new ReplicaSet is not yet behind the preview Service
    ANALYSING = "analysing"  # pre-promotion smoke against the preview router
    PROMOTED = "promoted"  # the active Service selects the new ReplicaSet
    HEALTHY = "healthy"  # post-promotion smoke passed: the release is stable
    FAILED = "failed"  # aborted (analysis failed) or degraded


@dataclass(frozen=True)
class RolloutView:
    app: App
    image: str
    phase: str
    message: str
    current: str  # the pod template hash of the desired template
    stable: str
    active: str  # the hash the active Service selects
    preview: str
    aborted: bool
    observed: bool  # the controller has seen the latest spec

    @classmethod
    def of(cls, app: App, obj: dict[str, Any]) -> RolloutView:
        status = obj.get("status") or {}
        bg = status.get("blueGreen") or {}
        return cls(
            app=app,
            image=container(obj, app)["image"],
            phase=str(status.get("phase") or ""),
            message=str(status.get("message") or ""),
            current=str(status.get("currentPodHash") or ""),
            stable=str(status.get("stableRS") or ""),
            active=str(bg.get("activeSelector") or ""),
            preview=str(bg.get("previewSelector") or ""),
            aborted=bool(status.get("abort")),
            observed=str(status.get("observedGeneration") or "") == str(obj["metadata"].get("generation")),
        )

    @property
    def stage(self) -> Stage:
        if self.aborted or self.phase == "Degraded":
            return Stage.FAILED
        if self.observed and self.phase == "Healthy" and self.stable == self.current == self.active:
            return Stage.HEALTHY
        if self.current and self.active == self.current:
            return Stage.PROMOTED
        if self.current and self.preview == self.current:
            return Stage.ANALYSING
        return Stage.STARTING

    @property
    def settled(self) -> bool:
        """Nothing in flight: a release may start from here."""
        return self.stage == Stage.HEALTHY


def container(obj: dict[str, Any], app: App) -> dict[str, Any]:
    name = CONTAINER[app]
    for c in obj["spec"]["template"]["spec"]["containers"]:
        if c["name"] == name:
            return dict(c)
    raise KeyError(f"Rollout {obj['metadata']['name']} has no container {name!r}")


def release_patch(obj: dict[str, Any], app: App, image: str, expect_sha: str) -> dict[str, Any]:
    """A merge patch: the app's container on `image`, both analyses expecting `expect_sha`.

    Lists are replaced whole by a merge patch, so they are sent whole.
    """
    spec = copy.deepcopy(obj["spec"])
    for c in spec["template"]["spec"]["containers"]:
        if c["name"] == CONTAINER[app]:
            c["image"] = image
    bg = spec["strategy"]["blueGreen"]
    for key in ("prePromotionAnalysis", "postPromotionAnalysis"):
        if key in bg:
            bg[key]["args"] = [
                {**a, "value": expect_sha} if a.get("name") == "expect-sha" else a
                for a in bg[key].get("args", [])
            ]
    patch: dict[str, Any] = {
        "spec": {"template": {"spec": {"containers": spec["template"]["spec"]["containers"]}}}
    }
    analyses = ("prePromotionAnalysis", "postPromotionAnalysis")
    patch["spec"]["strategy"] = {"blueGreen": {k: bg[k] for k in analyses if k in bg}}
    return patch


def stuck_reason(pods: list[dict[str, Any]]) -> str | None:
    """Why the new pods will never start (an image that cannot be pulled, a missing Secret), if so."""
    for pod in pods:
        for cs in (pod.get("status") or {}).get("containerStatuses") or []:
            waiting = (cs.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in STUCK:
                name, reason = pod["metadata"]["name"], waiting["reason"]
                return f"pod {name}: {reason}: {waiting.get('message', '')}".strip()
    return None
