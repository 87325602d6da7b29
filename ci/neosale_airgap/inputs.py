"""What the build of each image needs, resolved on the host: the debootstrap
rootfs (and its OCI archive), every step's input files, and the inputs hash
that decides whether an image is rebuilt.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from neosale_airgap.env import REPO_ROOT
from neosale_airgap.fetch import FetchError, resolve_step, sha256_file
from neosale_airgap.manifest import ROOTFS, Image, Manifest
from neosale_airgap.oci import ImageConfig, rootfs_to_oci
from neosale_airgap.planning import Artifact, inputs_hash
from neosale_airgap.results import progress

DEFAULT_MANIFEST = REPO_ROOT / "airgap" / "images.toml"


@dataclass(frozen=True)
class Inputs:
    """What the build of one image needs, resolved on the host."""

    hashes: dict[str, str]
    artifacts: dict[str, list[Artifact | None]]  # per image, one entry per step
    errors: dict[str, str]  # image -> why its inputs could not be resolved


def cache_dir(env: dict[str, str]) -> Path:
    return Path(env["NEOSALE_CACHE"]) / "images"


def rootfs_tarball(env: dict[str, str]) -> Path:
    res = subprocess.run(
        [str(REPO_ROOT / "airgap" / "rootfs.sh")], env=env, capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        raise RuntimeError(f"airgap/rootfs.sh failed (exit {res.returncode}):\n{res.stderr.strip()}")
    return Path(res.stdout.strip().splitlines()[-1])


def cached_sha256(path: Path) -> str:
    """sha256 of a large file, remembered next to it while size and mtime stay the same."""
    st = path.stat()
    stamp = f"{st.st_size} {st.st_mtime_ns}"
    memo = path.with_name(path.name + ".sha256")
    if memo.is_file():
        got_stamp, _, digest = memo.read_text().strip().rpartition(" ")
        if got_stamp == stamp:
            return digest
    digest = sha256_file(path)
    memo.write_text(f"{stamp} {digest}\n")
    return digest


def base_archive(rootfs: Path, rootfs_sha: str, env: dict[str, str]) -> Path:
    """The rootfs as an OCI archive Container.import_ loads; one per rootfs content."""
    out = cache_dir(env) / f"rootfs-{rootfs_sha[:16]}.oci.tar"
    if not out.is_file():
        progress(f"packing {rootfs.name} as an OCI archive")
        rootfs_to_oci(rootfs, out, ImageConfig(), "neosale/rootfs")
    return out


def _resolve_steps(image: Image, base_dir: Path, env: dict[str, str]) -> list[Artifact | None]:
    """One entry per step of `image`: the file it copies in, None for a run step."""
    resolved: list[Artifact | None] = []
    for step in image.steps:
        try:
            art = resolve_step(
                step, base_dir=base_dir, repo_root=REPO_ROOT, cache=cache_dir(env) / "downloads", env=env
            )
        except FetchError as exc:
            # The message names the step; the caller names the image.
            raise FetchError(f"step '{step.describe()}': {exc}") from None
        resolved.append(art)
    return resolved


def resolve_inputs(manifest: Manifest, names: Sequence[str], rootfs_sha: str, env: dict[str, str]) -> Inputs:
    """Resolve every step input of `names` and their bases, and hash each image's inputs.

    An image whose inputs fail (and every image built on it) gets an error
    instead of a hash; the others carry on.
    """
    base_dir = (manifest.path or DEFAULT_MANIFEST).parent
    out = Inputs({}, {}, {})
    for name in manifest.build_order(names):
        image = manifest.images[name]
        if image.base != ROOTFS and image.base in out.errors:
            out.errors[name] = f"its base image '{image.base}' failed"
            continue
        try:
            resolved = _resolve_steps(image, base_dir, env)
        except FetchError as exc:
            out.errors[name] = str(exc)
            continue
        base_key = rootfs_sha if image.base == ROOTFS else out.hashes[image.base]
        out.artifacts[name] = resolved
        out.hashes[name] = inputs_hash(
            manifest, image, base_key=base_key, artifacts=[a for a in resolved if a is not None]
        )
    return out
