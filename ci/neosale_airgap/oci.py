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


def rootfs_to_oci(rootfs_tar: Path, out: Path, config: ImageConfig, ref_name: str) -> str:
    """Write an OCI archive at `out` from `rootfs_tar`; return the manifest digest."""
    if not rootfs_tar.is_file():
        raise FileNotFoundError(f"rootfs tarball {rootfs_tar} does not exist")
    with tempfile.TemporaryDirectory() as tmp:
        layout = Path(tmp)
        (layout / "blobs" / "sha256").mkdir(parents=True)
        raw = rootfs_tar.read_bytes()
        diff_id = "sha256:" + hashlib.sha256(raw).hexdigest()
        buf = io.BytesIO()
        # mtime=0: identical input, identical layer digest.
        with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=6) as gz:
            gz.write(raw)
        layer_digest, layer_size = _blob(layout, buf.getvalue())

        cfg: dict[str, object] = {"Env": config.env, "Cmd": config.cmd, "Labels": config.labels}
        if config.entrypoint is not None:
            cfg["Entrypoint"] = config.entrypoint
        if config.user:
            cfg["User"] = config.user
        if config.workdir:
            cfg["WorkingDir"] = config.workdir
        image_config = {
            "architecture": "amd64",
            "os": "linux",
            "config": cfg,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created_by": f"neosale airgap: {rootfs_tar.name}"}],
        }
        cfg_digest, cfg_size = _blob(layout, json.dumps(image_config, sort_keys=True).encode())
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": cfg_digest,
                "size": cfg_size,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest,
                    "size": layer_size,
                }
            ],
        }
        man_digest, man_size = _blob(layout, json.dumps(manifest, sort_keys=True).encode())
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": man_digest,
                    "size": man_size,
                    "annotations": {"org.opencontainers.image.ref.name": ref_name},
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            ],
        }
        (layout / "index.json").write_text(json.dumps(index, sort_keys=True))
        (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
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
        return man_digest
