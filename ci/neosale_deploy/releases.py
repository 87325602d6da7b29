"""What the ledger says of the deploys the colours run: which releases completed, and
what a rollback may return to.

A release is completed when its run switched live traffic to it and verified it
(result success with an ok `verify` phase). Only such a colour may take traffic
back on `rollback`; a colour whose deploy was interrupted, failed or is unknown
to the ledger was never vetted behind the live port.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping

from neosale_deploy.record import LedgerRecord, Phase, Result, digests_of, ok_phases


class Release(enum.Enum):
    """The state of the deploy a colour's containers belong to."""

    COMPLETED = "completed"
    IN_PROGRESS = "in progress"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    UNKNOWN = "not in the ledger"


def completed(rec: LedgerRecord) -> bool:
    """The run switched live traffic to its colour and verified it there."""
    verified = Phase.VERIFY in ok_phases(rec)
    return rec.get("result") == Result.SUCCESS and verified and all(digests_of(rec).values())


def completes(rec: LedgerRecord, deploy_id: str, digests: Mapping[str, str]) -> bool:
    """`rec` completed the release of these containers: their deploy id and digests."""
    return completed(rec) and rec.get("colour_deploy_id") == deploy_id and digests_of(rec) == dict(digests)


def release_state(
    entries: Iterable[LedgerRecord], deploy_id: str, digests: Mapping[str, str], holder: str | None = None
) -> Release:
    """What the ledger says of containers labelled `deploy_id` running `digests`.

    `holder` is the id of a command that may still be running (it holds the lock):
    its unfinished deploy is in progress, anyone else's was interrupted.
    """
    entries = list(entries)
    if deploy_id and any(completes(e, deploy_id, digests) for e in entries):
        return Release.COMPLETED
    own = [e for e in entries if deploy_id and e.get("id") == deploy_id]
    if not own:
        return Release.UNKNOWN
    result = own[-1].get("result")
    if result == Result.RUNNING:
        return Release.IN_PROGRESS if deploy_id == holder else Release.INTERRUPTED
    return Release.INTERRUPTED if result == Result.INTERRUPTED else Release.FAILED


def rollback_target(entries: Iterable[LedgerRecord], current: Mapping[str, str]) -> LedgerRecord | None:
    """The latest completed release whose digests differ from `current` (what is live now)."""
    cands = [e for e in entries if completed(e) and digests_of(e) != dict(current)]
    return max(cands, key=lambda e: str(e.get("finished", ""))) if cands else None


def env_names(assignments: Iterable[str]) -> set[str]:
    """The names of `NAME=VALUE` strings (a container's or an image's Env)."""
    return {a.partition("=")[0] for a in assignments if a.partition("=")[0]}


def missing_env(needed: Mapping[str, set[str]], given: Mapping[str, Mapping[str, str]]) -> list[str]:
    """`ROLE:NAME` for each name a role needs that `given` has no value for (names only, never values)."""
    return sorted(
        f"{role}:{name}" for role, names in needed.items() for name in names - set(given.get(role, {}))
    )


def release_warning(colour: str, deploy_id: str, release: Release, live: bool) -> str | None:
    """What `status` warns of a colour whose deploy never completed; None when all is well."""
    what = f"{colour} runs deploy {deploy_id or '?'}, {release.value}"
    if release is Release.COMPLETED or (release is Release.IN_PROGRESS and not live):
        return None
    if live:
        return (
            f"{what}, and takes live traffic without having completed a release (switched + verified): "
            "`rollback` returns to the last completed one"
        )
    return f"{what}: never vetted, so no rollback target; the next deploy or reconcile removes it"
