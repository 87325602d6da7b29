"""The builtin SDK content's pure pieces: the runtime's base image patch, the
pinned runtime tarball, the Go SDK's lib version, input fingerprints, and
the .env that points `dagger call` at the stand-ins."""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest

from neosale_airgap import sdkcontent, sdkinputs, standins
from neosale_airgap.sdkinputs import ContentError, Inputs, Paths

UPSTREAM_BASE = (
    "FROM python:3.14-slim@sha256:486b8092bfb12997e10d4920897213a06563449c951c5506c2a2cfaf591c599f AS base\n"
)
STANDIN = "127.0.0.1:5000/offline/python:3.11@sha256:" + "a" * 64


def _runtime_tarball(path: Path, dockerfile: str) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        data = dockerfile.encode()
        info = tarfile.TarInfo("dagger-v0.21.8/sdk/python/runtime/images/base/Dockerfile")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    return path


def test_the_runtime_base_image_becomes_the_standin(tmp_path: Path) -> None:
    tarball = _runtime_tarball(tmp_path / "rt.tar.gz", UPSTREAM_BASE)
    runtime = sdkinputs.unpack_runtime(tarball, STANDIN, tmp_path / "out")
    assert (runtime / "images/base/Dockerfile").read_text() == f"FROM {STANDIN} AS base\n"


def test_an_unexpected_runtime_dockerfile_stops_the_build(tmp_path: Path) -> None:
    tarball = _runtime_tarball(tmp_path / "rt.tar.gz", "FROM python:3.14-slim\n")
    with pytest.raises(ContentError, match="no 'FROM … AS base' line"):
        sdkinputs.unpack_runtime(tarball, STANDIN, tmp_path / "out")


def _paths(tmp_path: Path, src: str) -> Paths:
    return Paths(
        "0.21.8", tmp_path / "tree", tmp_path / "codegen", src, tmp_path / "content", tmp_path / "cache"
    )


def test_the_runtime_mirror_must_be_configured(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match="NEOSALE_DAGGER_SRC is not set"):
        sdkinputs.runtime_tarball(_paths(tmp_path, ""))


def test_a_mirror_with_other_bytes_is_refused(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "dagger-v0.21.8-sdk-runtime.tar.gz").write_bytes(b"not the pinned tarball")
    with pytest.raises(ContentError, match="checksum is not eedf5252"):
        sdkinputs.runtime_tarball(_paths(tmp_path, str(mirror)))


def test_a_mirror_without_the_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ContentError, match=r"could not fetch dagger-v0\.21\.8-sdk-runtime\.tar\.gz"):
        sdkinputs.runtime_tarball(_paths(tmp_path, str(tmp_path / "empty")))


def test_lib_version_is_read_from_the_engine_source(tmp_path: Path) -> None:
    go = tmp_path / "core" / "sdk" / "go_sdk.go"
    go.parent.mkdir(parents=True)
    go.write_text('const (\n\tgoSDKLibVersion = "56bb30426a8462af6f95cfdae6461d0cc796ff50" // v0.21.8\n)\n')
    assert sdkinputs.lib_version(tmp_path) == "56bb30426a8462af6f95cfdae6461d0cc796ff50"
    go.write_text("package sdk\n")
    with pytest.raises(ContentError, match="goSDKLibVersion not found"):
        sdkinputs.lib_version(tmp_path)


def _inputs(tmp_path: Path) -> Inputs:
    for name in ("goroot", "proxy", "sdkgo", "sdkpy", "runtime"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f").write_text(name)
    for name in ("codegen", "uv", "uvx"):
        (tmp_path / name).write_text(name)
    return Inputs(
        goroot=tmp_path / "goroot",
        goproxy_dir=tmp_path / "proxy",
        goproxy="https://proxy.golang.org,direct",
        codegen=tmp_path / "codegen",
        sdk_go=tmp_path / "sdkgo",
        sdk_python=tmp_path / "sdkpy",
        runtime=tmp_path / "runtime",
        uv=tmp_path / "uv",
        uvx=tmp_path / "uvx",
        go_base="r/go-sdk-base:bookworm@sha256:" + "1" * 64,
        python_base=STANDIN,
    )


def test_the_fingerprint_follows_every_input(tmp_path: Path) -> None:
    inputs = _inputs(tmp_path)
    first = inputs.fingerprint()
    assert inputs.fingerprint() == first  # stable: a second install does nothing
    assert replace(inputs, python_base=STANDIN.replace("a", "b")).fingerprint() != first
    (tmp_path / "runtime" / "f").write_text("changed")
    assert inputs.fingerprint() != first
    (tmp_path / "runtime" / "f").write_text("runtime")
    (tmp_path / "goroot" / "f").chmod(0o755)  # modes in trees count: a tool must stay executable
    assert inputs.fingerprint() != first


def test_engine_env_is_empty_until_built(tmp_path: Path) -> None:
    assert sdkcontent.read_engine_env(tmp_path) == {}
    (tmp_path / "engine.env").write_text("DAGGER_GO_SDK_MANIFEST_DIGEST=sha256:1\n")
    assert sdkcontent.read_engine_env(tmp_path) == {"DAGGER_GO_SDK_MANIFEST_DIGEST": "sha256:1"}


def test_dotenv_keys_are_what_dagger_matches() -> None:
    # Dagger matches case-insensitively without underscores; NODE_IMAGE would be ignored.
    assert standins._dotenv_key("node_image") == "NODEIMAGE"


def test_dotenv_names_every_image_argument_of_the_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(standins, "trivy_db_cache", lambda: Path("/cache/trivy"))
    lines = dict(
        line.split("=", 1) for line in standins.dotenv().splitlines() if line and not line.startswith("#")
    )
    assert {standins._dotenv_key(a) for a in standins.MODULE_ARGS} <= set(lines)
    assert lines["CABUNDLE"] == "/etc/ssl/certs/ca-certificates.crt"
    assert lines["TRIVYDB"] == "/cache/trivy"
    assert all(v.startswith("127.0.0.1:5000/offline/") for k, v in lines.items() if k.endswith("IMAGE"))
