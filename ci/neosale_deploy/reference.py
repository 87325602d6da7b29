"""Image references: the OCI distribution grammar, checked before anything is touched.

    reference  := [HOST[:PORT]/]PATH[:TAG]@sha256:<64 hex>
    HOST       := domain components ([A-Za-z0-9], '-' inside) joined by '.', or [IPv6]
    PATH       := components [a-z0-9]+ joined by '.', '_', '__' or '-'+, separated by '/'
    TAG        := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}

As docker resolves it, the first component is the registry host when it has a
'.' or ':', is `localhost`, or has uppercase letters; otherwise it is a path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from neosale_deploy.errors import UsageError

_HOST_PART = r"(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])"
_HOST = re.compile(rf"^(?:{_HOST_PART}(?:\.{_HOST_PART})*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{{1,5}})?$")
_PATH_PART = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")
_TAG = re.compile(r"^\w[\w.-]{0,127}$", re.ASCII)
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
NAME_MAX = 255
FORM = "[HOST[:PORT]/]PATH[:TAG]"
DIGEST_FORM = "@sha256:<64 lowercase hex>"


@dataclass(frozen=True)
class ImageRef:
    """`name[:tag]@sha256:<64 hex>`; the digest is empty only where a tag is allowed (router, postgres)."""

    name: str  # [host[:port]/]path, without tag or digest
    tag: str
    digest: str

    @property
    def ref(self) -> str:
        """What the ledger and the labels record: name, tag and digest."""
        return f"{self.name}{':' + self.tag if self.tag else ''}@{self.digest}"

    @property
    def pull_ref(self) -> str:
        """What `docker pull` and `docker run` get: the tag cannot move under a digest."""
        return f"{self.name}@{self.digest}"

    @classmethod
    def parse(cls, value: str, what: str) -> ImageRef:
        return parse_reference(value, what)


DOCKER_HUB = "docker.io"


def registry_host(image: ImageRef) -> str:
    """The registry an image is pulled from: its HOST[:PORT], or Docker Hub when it names none."""
    host, _ = _split_host(image.name)
    return host or DOCKER_HUB


Fail = Callable[[str], UsageError]


def _split_host(name: str) -> tuple[str, list[str]]:
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first, rest.split("/")
    return "", name.split("/")


def _check_name(name: str, fail: Fail) -> None:
    if len(name) > NAME_MAX:
        raise fail(f"the name is {len(name)} characters long (at most {NAME_MAX})")
    host, path = _split_host(name)
    if host and not _HOST.match(host):
        raise fail(f"registry host {host!r} is not HOST[:PORT]")
    for part in path:
        if not part:
            raise fail("the path has an empty component ('//', or '/' at an end)")
        if part != part.lower():
            raise fail(f"path component {part!r} has uppercase letters (paths are lowercase)")
        if not _PATH_PART.match(part):
            raise fail(
                f"path component {part!r} is not lowercase letters and digits joined by "
                "'.', '_', '__' or '-'",
            )


def parse_reference(value: str, what: str, pinned: bool = True) -> ImageRef:
    """`value` as a reference (with a digest unless not `pinned`), or a UsageError naming
    it and the part that is wrong. Pure: nothing is asked of any host."""
    expected = f"expected {FORM}{DIGEST_FORM if pinned else f'[{DIGEST_FORM}]'}"

    def fail(why: str) -> UsageError:
        return UsageError(f"{what} {value!r} is not a valid image reference: {why}; {expected}")

    text = value.strip()
    name_tag, at, digest = text.partition("@")
    if not at and pinned:
        raise fail("it has no digest (a tag can move; deploys are by digest)")
    if at and not _DIGEST.match(digest):
        raise fail(f"digest {digest!r} is not sha256:<64 lowercase hex>")
    name, tag = name_tag, ""
    colon = name_tag.rfind(":")
    if colon > name_tag.rfind("/"):
        name, tag = name_tag[:colon], name_tag[colon + 1 :]
        if not _TAG.match(tag):
            raise fail(
                f"tag {tag!r} is not 1-128 of letters, digits, '_', '.', '-' (not first: '.', '-')",
            )
    if not name:
        raise fail("the repository name is empty")
    _check_name(name, fail)
    return ImageRef(name, tag, digest)
