"""What an app container is started with: its env, its labels and its confinement."""

from __future__ import annotations

from typing import Any

from neosale_deploy.model import (
    LABEL_COLOUR,
    LABEL_DEPLOY_ID,
    LABEL_DIGEST,
    LABEL_ENV,
    LABEL_IMAGE,
    LABEL_PROJECT,
    LABEL_ROLE,
    App,
    RoleSpec,
    Target,
)
from neosale_deploy.reference import ImageRef

# App containers (both colours, the migration): no capabilities (the apps
# listen above 1024), no privilege gain through setuid binaries.
CONFINED: dict[str, Any] = {"cap_drop": ["ALL"], "security_opt": ["no-new-privileges"]}


def hardening(spec: RoleSpec) -> dict[str, Any]:
    """An app container's confinement: CONFINED plus a read-only root with tmpfs mounts."""
    if not spec.read_only:
        return dict(CONFINED)
    return {**CONFINED, "read_only": True, "tmpfs": dict.fromkeys(spec.tmpfs, "")}


def app_env(target: Target, role: str, colour: str) -> dict[str, str]:
    """The env of `role` in `colour`: the target's, its port, its colour and role."""
    spec = target.roles[role]
    env = dict(spec.env)
    env.setdefault("PORT", str(spec.port))
    env["NEOSALE_COLOUR"] = colour
    env["NEOSALE_ROLE"] = role
    if role == App.FRONTEND:
        # Each colour's frontend talks to its own colour's backend.
        backend = f"http://{target.container_name(colour, App.BACKEND)}:{target.roles[App.BACKEND].port}"
        env.setdefault("BACKEND_URL", backend)
    return env


def app_labels(
    target: Target, colour: str, role: str, image: ImageRef, deploy_id: str, env_fingerprint: str
) -> dict[str, str]:
    return {
        LABEL_PROJECT: target.project,
        LABEL_COLOUR: colour,
        LABEL_ROLE: role,
        LABEL_IMAGE: image.ref,
        LABEL_DIGEST: image.digest,
        LABEL_DEPLOY_ID: deploy_id,
        LABEL_ENV: env_fingerprint,
    }
