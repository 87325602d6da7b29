"""Image tags for a commit: full and short sha, branch, semver on version tags.

Deploys use digests; tags are for people and for finding a build again. The
rules follow docker/metadata-action's defaults: sha always, the branch name
sanitised, and `v1.2.3` → `1.2.3`, `1.2`, `1` (not `latest`, which is a
release decision, not a build fact).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SHA = re.compile(r"^[0-9a-f]{40}$")
_SEMVER = re.compile(r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?$")
# Docker tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class TagError(ValueError):
    """A commit, ref or tag that cannot name an image."""


def is_full_sha(value: str) -> bool:
    """A full git commit sha as the pipeline passes it: 40 lowercase hex."""
    return bool(_SHA.match(value))


@dataclass(frozen=True)
class Revision:
    """What the pipeline knows about the commit it builds."""

    sha: str
    ref: str = ""

    def __post_init__(self) -> None:
        if not is_full_sha(self.sha):
            raise TagError(f"commit sha {self.sha!r} is not a full 40-hex lowercase git sha")

    @property
    def short(self) -> str:
        return self.sha[:7]


def sanitize_branch(branch: str) -> str:
    """`feature/Login Page` → `feature-login-page`, trimmed to a valid tag."""
    tag = re.sub(r"[^a-z0-9_.-]+", "-", branch.lower()).strip("-.")[:128]
    return tag


def validate_tag(tag: str) -> str:
    if not _TAG.match(tag):
        raise TagError(
            f"image tag {tag!r} is invalid: expected 1-128 characters of [A-Za-z0-9_.-], "
            "not starting with '.' or '-'"
        )
    return tag


def tags_for(rev: Revision, extra: tuple[str, ...] = ()) -> list[str]:
    """All tags one build gets, most specific first, without duplicates."""
    tags = [rev.sha, f"sha-{rev.short}"]
    ref = rev.ref
    if ref.startswith("refs/tags/"):
        name = ref.removesuffix("/").split("/", 2)[2]
        m = _SEMVER.match(name)
        if m:
            major, minor, patch, pre = m.groups()
            tags.append(f"{major}.{minor}.{patch}" + (f"-{pre}" if pre else ""))
            if not pre:  # a pre-release never moves the floating tags
                tags += [f"{major}.{minor}", major]
        else:
            tags.append(sanitize_branch(name))
    elif ref.startswith("refs/heads/") or (ref and not ref.startswith("refs/")):
        branch = sanitize_branch(ref.removeprefix("refs/heads/"))
        if branch:
            tags.append(branch)
    elif ref.startswith("refs/pull/"):
        number = ref.split("/")[2]
        tags.append(f"pr-{number}")
    tags += list(extra)
    out: list[str] = []
    for t in tags:
        if validate_tag(t) not in out:
            out.append(t)
    return out
