"""The rootfs → OCI archive packer: reproducible bytes, a valid one-layer layout."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from neosale_airgap.oci import ImageConfig, rootfs_to_oci


@pytest.fixture
def rootfs(tmp_path: Path) -> Path:
    path = tmp_path / "rootfs.tar"
    with tarfile.open(path, "w") as tar:
        data = b"bookworm\n"
        info = tarfile.TarInfo("etc/debian_version")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


def _members(archive: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            fh = tar.extractfile(member)
            if fh is not None:
                out[member.name] = fh.read()
    return out


def _blob(files: dict[str, bytes], digest: str) -> bytes:
    return files["blobs/sha256/" + digest.removeprefix("sha256:")]


def test_same_rootfs_and_config_give_the_same_bytes(rootfs: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "out.tar", tmp_path / "b" / "out.tar"
    d1 = rootfs_to_oci(rootfs, first, ImageConfig(), "neosale/rootfs")
    d2 = rootfs_to_oci(rootfs, second, ImageConfig(), "neosale/rootfs")
    assert d1 == d2
    assert first.read_bytes() == second.read_bytes()
    assert not first.with_suffix(".tar.partial").exists()


def test_layout_holds_the_rootfs_as_its_one_layer(rootfs: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.tar"
    digest = rootfs_to_oci(rootfs, out, ImageConfig(), "neosale/rootfs")
    files = _members(out)
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    (entry,) = json.loads(files["index.json"])["manifests"]
    assert entry["digest"] == digest
    assert entry["annotations"] == {"org.opencontainers.image.ref.name": "neosale/rootfs"}
    for name, data in files.items():
        if name.startswith("blobs/"):
            assert name == "blobs/sha256/" + hashlib.sha256(data).hexdigest()
    manifest = json.loads(_blob(files, digest))
    (layer,) = manifest["layers"]
    assert gzip.decompress(_blob(files, layer["digest"])) == rootfs.read_bytes()
    config = json.loads(_blob(files, manifest["config"]["digest"]))
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(rootfs.read_bytes()).hexdigest()]


def test_config_sets_only_the_fields_given(rootfs: Path, tmp_path: Path) -> None:
    def config_of(cfg: ImageConfig) -> dict[str, object]:
        out = tmp_path / "out.tar"
        rootfs_to_oci(rootfs, out, cfg, "x")
        files = _members(out)
        manifest = json.loads(_blob(files, json.loads(files["index.json"])["manifests"][0]["digest"]))
        doc: dict[str, object] = json.loads(_blob(files, manifest["config"]["digest"]))["config"]
        return doc

    plain = config_of(ImageConfig())
    assert set(plain) == {"Env", "Cmd", "Labels"}
    full = config_of(ImageConfig(entrypoint=["/init"], user="1000", workdir="/app", labels={"a": "b"}))
    assert full["Entrypoint"] == ["/init"]
    assert (full["User"], full["WorkingDir"], full["Labels"]) == ("1000", "/app", {"a": "b"})


def test_missing_rootfs_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "none.tar"
    with pytest.raises(FileNotFoundError, match=f"rootfs tarball {missing} does not exist"):
        rootfs_to_oci(missing, tmp_path / "out.tar", ImageConfig(), "x")
    assert not (tmp_path / "out.tar").exists()
