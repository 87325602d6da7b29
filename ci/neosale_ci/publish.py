"""Publishing images: every tag of a build pushed, one digest returned.

Deploys use the digest; tags are for people. A preflight checks every image
of a build before the first push: repository and tag syntax, credentials
given in pairs, and, through the engine's own network path, that each
registry answers and accepts the credentials. So a bad tag, a wrong or
missing password or an unreachable registry leaves nothing published.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Annotated

import anyio
import dagger
from dagger import Doc, dag

from .context import App
from .errors import StageError
from .sdk import field, function, object_type
from .tags import TagError, validate_tag

# registry host[:port] / path components (lowercase), no tag or digest
_REPOSITORY = re.compile(
    r"^(?P<host>[a-zA-Z0-9.-]+(?::[0-9]+)?)/(?P<path>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)$"
)

# The embedded registry's address inside the engine. A localhost name makes
# the engine speak plain HTTP to it without any engine config, and with
# `registry_service` the engine dials the service, never the host's port.
_EMBEDDED_PORT = 5000
EMBEDDED_HOST = f"localhost:{_EMBEDDED_PORT}"


def image_ref(repository: str, digest: str) -> str:
    """What deploys use: repository@sha256:..."""
    return f"{repository}@{digest}"


@object_type
class PublishedImage:
    """One app's image as published: where, by which digest, under which tags."""

    app: App = field()
    repository: Annotated[str, Doc("HOST[:PORT]/PATH, no tag")] = field()
    digest: Annotated[str, Doc("sha256:<64 hex>, the manifest every tag names")] = field()
    tags: list[str] = field()

    @function
    def ref(self) -> str:
        """REPOSITORY@sha256:…, what deploys pull."""
        return image_ref(self.repository, self.digest)


@dataclass(frozen=True)
class ImagePush:
    """One image of a build and where it goes."""

    image: dagger.Container
    repository: str
    tags: list[str]


@dataclass(frozen=True)
class Destination:
    """How to reach the registries: credentials, or the embedded registry service."""

    username: str = ""
    password: dagger.Secret | None = None
    service: dagger.Service | None = None


class Probe(Enum):
    """What resolving a tag that does not exist says about a registry."""

    READY = "ready"  # answered "not found": reachable, credentials (if any) accepted
    NO_CREDENTIALS = "no credentials"  # asks for credentials the engine did not have
    REJECTED = "rejected"  # refused the credentials (401)
    DENIED = "denied"  # authenticated, but refused this repository
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"


# Checked in order: an engine message can carry several of these phrases
# ("pull access denied ...: no basic auth credentials").
_PROBE_PATTERNS: list[tuple[Probe, tuple[str, ...]]] = [
    (
        Probe.UNREACHABLE,
        (
            "connection refused",
            "no such host",
            "i/o timeout",
            "network is unreachable",
            "no route to host",
            "connection reset",
            "server misbehaving",
            "server gave http response to https client",
            "x509:",
            "tls:",
        ),
    ),
    (Probe.NO_CREDENTIALS, ("no basic auth credentials", "failed to fetch anonymous token")),
    (Probe.REJECTED, ("401 unauthorized", "failed to fetch oauth token", "unauthorized")),
    (Probe.DENIED, ("403 forbidden", "insufficient_scope", "denied", "forbidden")),
    (Probe.READY, ("not found", "manifest unknown", "name unknown", "manifest_unknown", "name_unknown")),
]

# The engine's prefix names the probe's throwaway tag; the cause follows it.
_RESOLVE_PREFIX = re.compile(r'^failed to resolve image "[^"]*"(?: \(platform: "[^"]*"\))?: ')


def classify_probe_error(message: str) -> Probe:
    """Classify the engine's error for resolving a tag that does not exist."""
    text = message.lower()
    for probe, phrases in _PROBE_PATTERNS:
        if any(p in text for p in phrases):
            return probe
    return Probe.UNKNOWN


def probe_problem(probe: Probe, repository: str, username: str, has_password: bool, cause: str) -> str | None:
    """Why a push to `repository` would fail, or None when it may go ahead.

    DENIED with credentials goes ahead: it is how Docker Hub answers a pull of
    a repository that does not exist yet, and failing it would block every
    first push; the push itself then names any real refusal.
    """
    host = repository.split("/", 1)[0]
    if probe is Probe.READY or (probe is Probe.DENIED and has_password):
        return None
    if probe in (Probe.NO_CREDENTIALS, Probe.REJECTED, Probe.DENIED) and not has_password:
        return (
            f"registry {host} requires credentials for {repository}: expected a username and a "
            "registry password or token (none was given)"
        )
    if probe is Probe.REJECTED:
        return (
            f"registry {host} rejected the credentials of user {username!r}: "
            "expected a valid password or token for that user"
        )
    if probe is Probe.UNREACHABLE:
        return f"registry {host} is unreachable from the engine: expected an OCI registry at {host} ({cause})"
    return f"registry {host} did not answer as a registry should for {repository}: {cause}"


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


def _check_syntax(target: ImagePush, dest: Destination) -> ImagePush:
    host = parse_repository(target.repository)
    try:
        tags = [validate_tag(t) for t in target.tags]
    except TagError as exc:
        raise StageError("publish", str(exc)) from exc
    if not tags:
        raise StageError("publish", f"no tag given for {target.repository}")
    if dest.password is not None and not dest.username:
        raise StageError("publish", f"a registry password was given for {host} without a username")
    if dest.username and dest.password is None:
        raise StageError(
            "publish",
            f"registry user {dest.username!r} was given for {host} without a password: "
            "expected both or neither",
        )
    return ImagePush(target.image, target.repository, tags)


def _authed(ctr: dagger.Container, repository: str, dest: Destination) -> dagger.Container:
    if dest.password is None:
        return ctr
    return ctr.with_registry_auth(repository.split("/", 1)[0], dest.username, dest.password)


async def _probe(target: ImagePush, dest: Destination) -> str | None:
    # A fresh tag each time: the engine caches resolved refs within a session.
    ref = f"{target.repository}:neosale-preflight-{secrets.token_hex(8)}"
    probe = _authed(dag.container(), target.repository, dest).from_(ref, registry_service=dest.service)
    try:
        await probe.sync()
    except dagger.QueryError as exc:
        cause = _RESOLVE_PREFIX.sub("", str(exc))
        verdict = classify_probe_error(cause)
        return probe_problem(verdict, target.repository, dest.username, dest.password is not None, cause)
    return None


async def preflight(targets: list[ImagePush], dest: Destination) -> list[ImagePush]:
    """Every target checked, with its tags validated, or one error naming every problem."""
    checked = [_check_syntax(t, dest) for t in targets]
    problems: dict[str, str] = {}

    async def probe(target: ImagePush) -> None:
        problem = await _probe(target, dest)
        if problem is not None:
            problems[target.repository] = problem

    async with anyio.create_task_group() as tg:
        for target in checked:
            tg.start_soon(probe, target)
    if problems:
        lines = [problems[t.repository] for t in checked if t.repository in problems]
        raise StageError("publish", "preflight failed, nothing was pushed:\n" + "\n".join(lines))
    return checked


# Every layer gzip: a Docker Engine before 23.0 (Debian 12's docker.io is 20.10)
# cannot unpack zstd, and the engine may hold a zstd copy of a base layer (an
# export with zstd layers made one) that a publish would otherwise reuse.
LAYERS = dagger.ImageLayerCompression.Gzip


async def push(target: ImagePush, dest: Destination) -> str:
    """Every tag of a preflighted target; all must name one digest, returned."""
    ctr = _authed(target.image, target.repository, dest)
    digests: set[str] = set()
    for tag in target.tags:
        try:
            ref = await ctr.publish(
                f"{target.repository}:{tag}", registry_service=dest.service, forced_compression=LAYERS
            )
        except dagger.QueryError as exc:
            raise StageError("publish", f"pushing {target.repository}:{tag} failed: {exc}") from exc
        digests.add(ref.rsplit("@", 1)[1])
    if len(digests) != 1:  # the same container must give the same manifest
        raise StageError("publish", f"{target.repository}: tags got different digests {sorted(digests)}")
    return digests.pop()


async def publish(
    ctr: dagger.Container,
    repository: str,
    tags: list[str],
    username: str = "",
    password: dagger.Secret | None = None,
) -> str:
    """One image: preflight, then every tag; returns its reference by digest."""
    dest = Destination(username, password)
    (target,) = await preflight([ImagePush(ctr, repository, tags)], dest)
    return image_ref(repository, await push(target, dest))


def embedded_registry(image: str) -> dagger.Service:
    """A throwaway OCI registry inside the engine, for runs given no registry.

    Both the official registry:2 image and the stand-in serve on :5000 from
    their own entrypoint; storage is the container's and dies with the run.
    """
    return dag.container().from_(image).with_exposed_port(_EMBEDDED_PORT).as_service(use_entrypoint=True)
