"""Turn a root filesystem tarball into an OCI image layout tarball.

`Container.import_` (and `docker load`, `skopeo`) take an OCI archive; a
debootstrap rootfs is a plain tar. This writes the one-layer image around it
with reproducible bytes: the same rootfs and config give the same digest.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an OCI image config a stand-in image needs."""

    env: list[str] = field(
        default_factory=lambda: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    )
    cmd: list[str] = field(default_factory=lambda: ["/bin/sh"])
    entrypoint: list[str] | None = None
    user: str = ""
    workdir: str = ""
    labels: dict[str, str] = field(default_factory=dict)


def _blob(layout: Path, data: bytes) -> tuple[str, int]:
    digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs" / "sha256" / digest).write_bytes(data)
    return f"sha256:{digest}", len(data)


def _json_blob(layout: Path, doc: object) -> tuple[str, int]:
    # Sorted keys: the same document always has the same digest.
    return _blob(layout, json.dumps(doc, sort_keys=True).encode())


def _layer(layout: Path, raw: bytes) -> tuple[str, int]:
    buf = io.BytesIO()
    # mtime=0: identical input, identical layer digest.
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as gz:
        gz.write(raw)
    return _blob(layout, buf.getvalue())


def _image_config(config: ImageConfig, diff_id: str, created_by: str) -> dict[str, object]:
    cfg: dict[str, object] = {"Env": config.env, "Cmd": config.cmd, "Labels": config.labels}
    if config.entrypoint is not None:
        cfg["Entrypoint"] = config.entrypoint
    if config.user:
        cfg["User"] = config.user
    if config.workdir:
        cfg["WorkingDir"] = config.workdir
    return {
        "architecture": "amd64",
        "os": "linux",
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created_by": created_by}],
    }


def _image_manifest(config: tuple[str, int], layer: tuple[str, int]) -> dict[str, object]:
    return {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config[0],
            "size": config[1],
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                "digest": layer[0],
                "size": layer[1],
            }
        ],
    }


def _index(manifest: tuple[str, int], ref_name: str) -> dict[str, object]:
    return {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest[0],
                "size": manifest[1],
                "annotations": {"org.opencontainers.image.ref.name": ref_name},
                "platform": {"architecture": "amd64", "os": "linux"},
            }
        ],
    }


def _write_layout(layout: Path, rootfs_tar: Path, config: ImageConfig, ref_name: str) -> str:
    """The OCI image layout of the one-layer image in `layout`; returns the manifest digest."""
    (layout / "blobs" / "sha256").mkdir(parents=True)
    raw = rootfs_tar.read_bytes()
    diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
    layer = _layer(layout, raw)
    cfg = _json_blob(layout, _image_config(config, diff_id, f"neosale airgap: {rootfs_tar.name}"))
    manifest = _json_blob(layout, _image_manifest(cfg, layer))
    (layout / "index.json").write_text(json.dumps(_index(manifest, ref_name), sort_keys=True))
    (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return manifest[0]


def _tar_layout(layout: Path, out: Path) -> None:
    """Tar `layout` into `out` with zeroed times and owners; `out` appears only when complete."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(out.suffix + ".partial")
    with tarfile.open(partial, "w") as tar:
        for path in sorted(layout.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(layout)))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if path.is_file():
                with path.open("rb") as fh:
                    tar.addfile(info, fh)
            else:
                tar.addfile(info)
    shutil.move(partial, out)


def rootfs_to_oci(rootfs_tar: Path, out: Path, config: ImageConfig, ref_name: str) -> str:
    """Write an OCI archive at `out` from `rootfs_tar`; return the manifest digest."""
    if not rootfs_tar.is_file():
        raise FileNotFoundError(f"rootfs tarball {rootfs_tar} does not exist")
    with tempfile.TemporaryDirectory() as tmp:
        digest = _write_layout(Path(tmp), rootfs_tar, config, ref_name)
        _tar_layout(Path(tmp), out)
        return digest
