"""The colour view: the project's containers as one list call reported them, by colour."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from neosale_deploy.model import (
    LABEL_COLOUR,
    LABEL_DEPLOY_ID,
    LABEL_ENV,
    LABEL_IMAGE,
    LABEL_ROLE,
    ONE_OFF_ROLES,
    ROLES,
)


@dataclass(frozen=True)
class Info:
    """A container as the list endpoint reports it: one API call for all of them."""

    id: str
    name: str
    labels: dict[str, str]
    state: str
    health: str | None

    def label(self, key: str) -> str:
        return self.labels.get(key, "")


_HEALTH_MARKERS = (("(unhealthy)", "unhealthy"), ("(healthy)", "healthy"), ("(health: starting)", "starting"))


def health_from_status(status: str) -> str | None:
    """The health in the list endpoint's Status text ("Up 3 minutes (healthy)"); None without a check."""
    return next((value for marker, value in _HEALTH_MARKERS if marker in status), None)


def info_from_row(row: Mapping[str, Any]) -> Info:
    """An Info from one row of the Engine's container list (GET /containers/json)."""
    return Info(
        id=str(row["Id"]),
        name=str((row.get("Names") or ["/?"])[0]).lstrip("/"),
        labels={str(k): str(v) for k, v in (row.get("Labels") or {}).items()},
        state=str(row.get("State", "unknown")),
        health=health_from_status(str(row.get("Status", ""))),
    )


@dataclass(frozen=True)
class Colours:
    """Questions about the colours, all answered from one snapshot of the containers."""

    containers: tuple[Info, ...]

    def of(self, colour: str) -> dict[str, Info]:
        """The colour's app containers by role."""
        return {
            c.label(LABEL_ROLE): c
            for c in self.containers
            if c.label(LABEL_COLOUR) == colour and c.label(LABEL_ROLE) in ROLES
        }

    def running(self, colour: str) -> bool:
        """Every app of the colour runs and none is unhealthy."""
        cs = self.of(colour)
        return len(cs) == len(ROLES) and all(
            c.state == "running" and c.health != "unhealthy" for c in cs.values()
        )

    def digests(self, colour: str) -> dict[str, str]:
        return {role: c.label(LABEL_IMAGE) for role, c in self.of(colour).items()}

    def env_fingerprints(self, colour: str) -> dict[str, str]:
        return {role: c.label(LABEL_ENV) for role, c in self.of(colour).items()}

    def deploy_id(self, colour: str) -> str:
        """The deploy that started the colour; "" when its containers disagree or there are none."""
        ids = {c.label(LABEL_DEPLOY_ID) for c in self.of(colour).values()}
        return ids.pop() if len(ids) == 1 else ""

    def one_offs(self) -> list[Info]:
        """Migration, backup and restore containers (reconcile removes leftovers)."""
        return [c for c in self.containers if c.label(LABEL_ROLE) in ONE_OFF_ROLES]

    def deployed(self) -> bool:
        """Anything to roll back from: a colour's container or the router."""
        return any(c.label(LABEL_ROLE) in (*ROLES, "router") for c in self.containers)
