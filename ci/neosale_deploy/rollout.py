"""The roll-out steps of a deploy (and of a rollback's redeploy): pull the images,
start the idle colour, gate it (docker health, HTTP health through the preview
port, smoke), switch the router, verify live traffic, switch back."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neosale_deploy import dockerhost as dh
from neosale_deploy import probe
from neosale_deploy.appspec import app_env, app_labels, hardening
from neosale_deploy.colours import Colours
from neosale_deploy.errors import DeployError, UsageError
from neosale_deploy.host import Host
from neosale_deploy.login import RegistryLogin, log_in
from neosale_deploy.model import REVISION_LABEL, ROLES, Target
from neosale_deploy.probe import Side
from neosale_deploy.reference import ImageRef

Images = Mapping[str, ImageRef]


def same_release(colours: Colours, colour: str, images: Images) -> bool:
    """The colour runs exactly these image references."""
    return colours.digests(colour) == {role: images[role].ref for role in ROLES}


def env_changed(colours: Colours, colour: str, envs: Mapping[str, str]) -> list[str]:
    """The roles whose app env fingerprint differs from what the colour runs with."""
    running = colours.env_fingerprints(colour)
    return [role for role in ROLES if running.get(role) != envs[role]]


def revision_problem(role: str, image: ImageRef, labels: Mapping[str, str], sha: str) -> str | None:
    """Why the image is not built from the approved commit; None when it is."""
    found = labels.get(REVISION_LABEL, "")
    if found == sha:
        return None
    return (
        f"--{role} image {image.ref} was built from commit {found or '(no label)'!r}, "
        f"not the approved {sha!r}: expected its {REVISION_LABEL} label to be the approved sha"
    )


@dataclass(frozen=True)
class RollOut:
    client: Any
    target: Target
    host: Host

    def pull(self, images: Images, expect_revision: str | None, login: RegistryLogin | None) -> str:
        """The images on the host by digest (and from the approved commit, when one is named)."""
        log_in(self.client, login, (images[role] for role in ROLES))
        ids = {role: dh.ensure_app_image(self.client, images[role], f"--{role} image") for role in ROLES}
        if expect_revision:
            for role in ROLES:
                labels = self.client.images.get(images[role].pull_ref).labels or {}
                problem = revision_problem(role, images[role], labels, expect_revision)
                if problem:
                    raise UsageError(problem)
        return ", ".join(f"{r} {i[:19]}" for r, i in ids.items())

    def start(self, colour: str, images: Images, deploy_id: str, envs: Mapping[str, str]) -> str:
        t = self.target
        for role in ROLES:
            self.client.containers.run(
                images[role].pull_ref,
                name=t.container_name(colour, role),
                detach=True,
                environment=app_env(t, role, colour),
                labels=app_labels(t, colour, role, images[role], deploy_id, envs[role]),
                network=t.names.network,
                restart_policy={"Name": "unless-stopped"},
                **hardening(t.roles[role]),
            )
        self.host.refresh()
        return f"{colour}: " + ", ".join(t.container_name(colour, r) for r in ROLES)

    def wait_healthy(self, colour: str) -> str:
        """Docker health (when the image has a check) and HTTP health through the preview port."""
        deadline = time.monotonic() + self.target.health_timeout
        while True:
            self.host.refresh()
            docker_ok = self._docker_healthy(colour)
            ok, detail = self.host.healthy(Side.PREVIEW)
            if docker_ok and ok:
                return detail
            if time.monotonic() > deadline:
                timeout = self.target.health_timeout
                raise DeployError(f"colour {colour} not healthy within {timeout:.0f}s: {detail}")
            time.sleep(0.25)

    def _docker_healthy(self, colour: str) -> bool:
        """All the colour's containers run and are healthy; one that died stops the deploy."""
        cs = self.host.colours().of(colour)
        ok = len(cs) == len(ROLES)
        for role, c in cs.items():
            if c.state in ("exited", "dead", "restarting") or c.health == "unhealthy":
                why = f"{c.state}, health {c.health}"
                raise DeployError(f"{colour} {role} ({c.name}) is {why}: {dh.logs_id(self.client, c)}")
            ok = ok and c.state == "running" and c.health in (None, "healthy")
        return ok

    def smoke(self) -> str:
        t = self.target
        result = probe.run_smoke(t, t.preview_url)
        if not result.ok:
            raise DeployError(f"smoke on preview {t.preview_url} failed: {result.detail}")
        return result.detail

    def verify(self, colour: str) -> str:
        """Live traffic through the router answers from `colour` and is healthy for verify_seconds."""
        end = time.monotonic() + self.target.verify_seconds
        rounds = failures = 0
        while True:
            ok, detail = self._live_round(colour)
            rounds += 1
            failures = 0 if ok else failures + 1
            if failures >= 2:
                raise DeployError(detail)
            if time.monotonic() >= end and failures == 0:
                return f"{rounds} rounds ok: {detail}"
            time.sleep(0.2)

    def _live_round(self, colour: str) -> tuple[bool, str]:
        marker = self.host.marker()
        ok, detail = self.host.healthy(Side.LIVE)
        page = probe.get(self.target.live_url, "/")
        if marker is None or marker.live != colour:
            return False, f"router answers live={marker.live if marker else '?'}"
        if page.status is None or page.status >= 500:
            return False, str(page)
        return ok, detail
