"""The ledger record of one command, and the names its phases and results take.

The values are the strings the ledger, the log lines and the CLI printers have
always used; a StrEnum member is that string wherever it is written.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import TypedDict, cast

from neosale_deploy.model import App


class Kind(StrEnum):
    DEPLOY = "deploy"
    ROLLBACK = "rollback"
    RESTORE = "restore"
    RECONCILE = "reconcile"
    SETUP = "setup"


class Phase(StrEnum):
    LOCK = "lock"
    RECONCILE = "reconcile"
    IMAGES = "images"
    BACKUP = "backup"
    MIGRATE = "migrate"
    START_IDLE = "start-idle"
    HEALTH = "health"
    SMOKE = "smoke"
    SWITCH = "switch"
    VERIFY = "verify"
    SWITCH_BACK = "switch-back"
    RESTORE = "restore"


class Result(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    ROLLED_BACK = "rolled-back"


class PhaseRecord(TypedDict, total=False):
    name: str
    started: str
    ok: bool
    seconds: float
    detail: str
    error: str


class BackupRecord(TypedDict, total=False):
    id: str
    file: str
    bytes: int
    database: str


class LedgerRecord(TypedDict, total=False):
    """One ledger line: a command's snapshot, rewritten (appended again) after every phase.

    Read back from JSON, so a field may be missing (older records) and nothing
    here is checked but `id`; readers use .get().
    """

    id: str
    kind: str
    project: str
    time: str
    by: str
    result: str
    reason: str
    phases: list[PhaseRecord]
    finished: str
    seconds: float
    approved_by: str | None
    production: bool
    # Image references (repo@sha256:...) per app, and the app env's fingerprints.
    backend: str
    frontend: str
    env: dict[str, str]
    env_changed: list[str]
    colour: str
    previous_colour: str | None
    # The deploy id the colour's containers are labelled with once this run made it live.
    colour_deploy_id: str
    retain_until: str
    noop: bool
    backup: BackupRecord
    redeploy_of: str
    rolled_back_from: dict[str, str]


def new_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def merge(records: list[LedgerRecord]) -> list[LedgerRecord]:
    """Records merged by id (the latest snapshot wins), in the order they started."""
    merged: dict[str, LedgerRecord] = {}
    for rec in records:
        merged[rec["id"]] = rec
    return list(merged.values())


def ok_phases(rec: LedgerRecord) -> list[str]:
    return [p.get("name", "?") for p in rec.get("phases", []) if p.get("ok")]


def set_images(rec: LedgerRecord, images: Mapping[str, str]) -> None:
    """Record the image references a run starts, by app (the `backend` and `frontend` fields)."""
    cast(dict[str, object], rec).update({app: images[app] for app in App if app in images})


def digests_of(rec: Mapping[str, object]) -> dict[str, str]:
    """What the record ran, per app: image references ("" when missing)."""
    return {app: str(rec.get(app) or "") for app in App}
