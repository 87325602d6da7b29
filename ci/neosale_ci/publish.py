"""Publishing images: every tag of a build pushed, one digest returned.

Deploys use the digest; tags are for people. All tags are validated before
the first push, so a bad tag never leaves a build half-published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dagger

from .errors import StageError
from .tags import TagError, validate_tag

# registry host[:port] / path components (lowercase), no tag or digest
_REPOSITORY = re.compile(
    r"^(?P<host>[a-zA-Z0-9.-]+(?::[0-9]+)?)/(?P<path>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)$"
)


@dataclass(frozen=True)
class Published:
    repository: str
    digest: str
    tags: list[str]

    @property
    def ref(self) -> str:
        """What deploys use: repository@sha256:..."""
        return f"{self.repository}@{self.digest}"


def parse_repository(repository: str) -> str:
    """The registry host of `repository`, or a clear error."""
    m = _REPOSITORY.match(repository)
    if not m:
        raise StageError(
            "publish",
            f"image repository {repository!r} is invalid: expected HOST[:PORT]/PATH in lowercase, "
            "without a tag or digest (e.g. ghcr.io/acme/neosale-backend)",
        )
    return m.group("host")


async def publish(
    ctr: dagger.Container,
    repository: str,
    tags: list[str],
    username: str = "",
    password: dagger.Secret | None = None,
) -> Published:
    host = parse_repository(repository)
    try:
        checked = [validate_tag(t) for t in tags]
    except TagError as exc:
        raise StageError("publish", str(exc)) from exc
    if not checked:
        raise StageError("publish", f"no tag given for {repository}")
    if password is not None:
        if not username:
            raise StageError("publish", f"a registry password was given for {host} without a username")
        ctr = ctr.with_registry_auth(host, username, password)
    digests: set[str] = set()
    for tag in checked:
        try:
            ref = await ctr.publish(f"{repository}:{tag}")
        except dagger.QueryError as exc:
            raise StageError("publish", f"pushing {repository}:{tag} failed: {exc}") from exc
        digests.add(ref.rsplit("@", 1)[1])
    if len(digests) != 1:  # the same container must give the same manifest
        raise StageError("publish", f"{repository}: tags got different digests {sorted(digests)}")
    return Published(repository, digests.pop(), checked)
