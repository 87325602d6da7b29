"""What the engine's builtin SDK content is made of, resolved on the host.

The dagger/dagger tree at the pinned version (install-dagger.sh prepared it),
sdk/python/runtime from NEOSALE_DAGGER_SRC (checksum pinned), Go from
golang.org/toolchain, uv from PyPI, the Debian stand-ins by digest, and a
small Go file proxy for the two answers the public proxy refuses the
engine's codegen. `Inputs.fingerprint` keys the build: unchanged inputs,
nothing rebuilt. sdkcontent.py turns them into images.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from neosale_airgap import registry
from neosale_airgap.env import REPO_ROOT
from neosale_airgap.fetch import extract_from_wheel, pypi_wheel, sha256_file
from neosale_airgap.manifest import load_manifest

UV_VERSION = "0.10.3"  # what sdk/python/runtime/images/uv/Dockerfile pins at v0.21.8
SHIV_VERSION = "1.0.8"
# sha256 of the runtime tarball for the pinned version: a mirror serves exactly these bytes.
RUNTIME_TARBALLS = {"0.21.8": "eedf52521c2314c0168e2101b4835ef6f30d996bc61ad41943e080c1cf93834d"}
GO_SDK_LIB = re.compile(r'goSDKLibVersion\s*=\s*"([0-9a-f]{40})"')
PY_SDK_INCLUDE = [
    "pyproject.toml",
    "uv.lock",
    "src/**/*.py",
    "src/**/*.typed",
    "codegen/",
    "LICENSE",
    "README.md",
]
PY_SDK_EXCLUDE = ["src/dagger/_engine/", "src/dagger/provisioning/"]
GOPROXY_DIR = "/usr/local/share/neosale/goproxy"


class ContentError(RuntimeError):
    """An input is missing or wrong; the message names it and the fix."""


@dataclass(frozen=True)
class Paths:
    """Where the inputs and the output live, from airgap/env.sh."""

    version: str
    tree: Path
    codegen: Path
    runtime_src: str
    content: Path
    cache: Path

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Paths:
        return cls(
            version=env["DAGGER_VERSION"],
            tree=Path(env["NEOSALE_DAGGER_TREE"]),
            codegen=Path(env["NEOSALE_PREFIX"]) / "current" / "bin" / "codegen",
            runtime_src=env.get("NEOSALE_DAGGER_SRC", ""),
            content=Path(env["NEOSALE_SDK_CONTENT"]),
            cache=Path(env["NEOSALE_CACHE"]),
        )


def _go(*args: str, env: dict[str, str]) -> str:
    res = subprocess.run(["go", *args], env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise ContentError(f"go {' '.join(args)} failed: {res.stderr.strip()[-800:]}")
    return res.stdout


def go_module_dir(module: str, env: dict[str, str]) -> Path:
    """The module's folder in the module cache, downloaded through GOPROXY."""
    return Path(json.loads(_go("mod", "download", "-json", module, env=env))["Dir"])


def go_proxy_chain(env: dict[str, str]) -> str:
    """GOPROXY with the extra mirror first, as install-dagger.sh builds with."""
    base = _go("env", "GOPROXY", env=env).strip()
    mirror = env.get("NEOSALE_GO_MIRROR", "")
    return f"{mirror},{base}" if mirror else base


def runtime_tarball(paths: Paths) -> Path:
    """The pinned runtime tarball from NEOSALE_DAGGER_SRC (a folder or URL), checksum verified."""
    name = f"dagger-v{paths.version}-sdk-runtime.tar.gz"
    want = RUNTIME_TARBALLS.get(paths.version)
    if not paths.runtime_src:
        raise ContentError(f"NEOSALE_DAGGER_SRC is not set: point it at a folder or URL holding {name}")
    if want is None:
        raise ContentError(f"no pinned checksum for {name}: add it to RUNTIME_TARBALLS")
    out = paths.cache / "downloads" / name
    if not out.is_file() or sha256_file(out) != want:
        out.parent.mkdir(parents=True, exist_ok=True)
        src = paths.runtime_src if "://" in paths.runtime_src else f"file://{paths.runtime_src}"
        res = subprocess.run(["curl", "-fsSL", "-o", str(out), f"{src.rstrip('/')}/{name}"], check=False)
        if res.returncode != 0:
            raise ContentError(f"NEOSALE_DAGGER_SRC={paths.runtime_src}: could not fetch {name}")
    if sha256_file(out) != want:
        raise ContentError(f"{name} from NEOSALE_DAGGER_SRC={paths.runtime_src}: checksum is not {want}")
    return out


def unpack_runtime(tarball: Path, python_base: str, dest: Path) -> Path:
    """sdk/python/runtime from the tarball, its base image pointed at `python_base`."""
    with tarfile.open(tarball) as tf:
        tf.extractall(dest, filter="data")
    runtime = next(dest.glob("*/sdk/python/runtime"))
    dockerfile = runtime / "images" / "base" / "Dockerfile"
    text = dockerfile.read_text()
    patched = re.sub(r"^FROM\s+\S+\s+AS base", f"FROM {python_base} AS base", text, count=1, flags=re.M)
    if patched == text:
        raise ContentError(f"{dockerfile}: no 'FROM … AS base' line; upstream changed, update sdkcontent.py")
    dockerfile.write_text(patched)
    return runtime


def lib_version(tree: Path) -> str:
    """The commit the engine asks the Go SDK's codegen to `go get` dagger.io/dagger at."""
    found = GO_SDK_LIB.search((tree / "core" / "sdk" / "go_sdk.go").read_text())
    if not found:
        raise ContentError(f"{tree}/core/sdk/go_sdk.go: goSDKLibVersion not found; upstream changed")
    return found.group(1)


def file_proxy(paths: Paths, env: dict[str, str], out: Path) -> Path:
    """A GOPROXY folder answering what the public proxy refuses the engine's codegen.

    codegen runs `go get dagger.io/dagger@<commit> github.com/dagger/querybuilder`:
    the proxy refuses the commit query and querybuilder's version list (exact
    versions are served). The commit resolves to the pinned release here, and
    querybuilder's list and @latest name the version dagger.io/dagger requires.
    """
    sdk_dir = go_module_dir(f"dagger.io/dagger@v{paths.version}", env)
    qb_version = re.search(r"github.com/dagger/querybuilder (\S+)", (sdk_dir / "go.mod").read_text())
    if not qb_version:
        raise ContentError(f"{sdk_dir}/go.mod does not require github.com/dagger/querybuilder")
    go_module_dir(f"github.com/dagger/querybuilder@{qb_version.group(1)}", env)
    downloads = Path(_go("env", "GOMODCACHE", env=env).strip()) / "cache" / "download"
    for module, version in (
        ("dagger.io/dagger", f"v{paths.version}"),
        ("github.com/dagger/querybuilder", qb_version.group(1)),
    ):
        src, dst = downloads / module / "@v", out / module / "@v"
        dst.mkdir(parents=True, exist_ok=True)
        for ext in ("info", "mod", "zip"):
            shutil.copyfile(src / f"{version}.{ext}", dst / f"{version}.{ext}")
    shutil.copyfile(
        out / "dagger.io/dagger/@v" / f"v{paths.version}.info",
        out / "dagger.io/dagger/@v" / f"{lib_version(paths.tree)}.info",
    )
    qb = out / "github.com/dagger/querybuilder"
    (qb / "@v" / "list").write_text(f"{qb_version.group(1)}\n")
    shutil.copyfile(qb / "@v" / f"{qb_version.group(1)}.info", qb / "@latest")
    return out


@dataclass(frozen=True)
class Inputs:
    """Everything the two images are made of, resolved on the host."""

    goroot: Path
    goproxy_dir: Path
    goproxy: str  # the host's GOPROXY, for the image (the extra mirror is a host path)
    codegen: Path
    sdk_go: Path
    sdk_python: Path
    runtime: Path
    uv: Path
    uvx: Path
    go_base: str
    python_base: str

    def fingerprint(self) -> str:
        """Changes when any input does (files by content, refs by digest)."""
        h = hashlib.sha256()
        for value in (self.goproxy, self.go_base, self.python_base, UV_VERSION, SHIV_VERSION):
            h.update(value.encode() + b"\0")
        for path in (self.goroot, self.codegen, self.sdk_go, self.sdk_python, self.runtime, self.goproxy_dir):
            h.update(_tree_digest(path).encode())
        h.update(Path(__file__).read_bytes())
        return h.hexdigest()


def _tree_digest(path: Path) -> str:
    """Names, modes and contents of every file under `path` (or of the one file)."""
    if path.is_file():
        return sha256_file(path)
    h = hashlib.sha256()
    for p in sorted(path.rglob("*")):
        if p.is_file():
            h.update(f"{p.relative_to(path)}\0{p.stat().st_mode & 0o111}\0{sha256_file(p)}\0".encode())
    return h.hexdigest()


def resolve(paths: Paths, env: dict[str, str], work: Path) -> Inputs:
    if not paths.codegen.is_file() or not (paths.tree / "sdk" / "python").is_dir():
        raise ContentError(f"{paths.codegen} or {paths.tree} is missing: run airgap/install-dagger.sh first")
    go_env = {**env, "GOPROXY": go_proxy_chain(env)}
    manifest = load_manifest(REPO_ROOT / "airgap" / "images.toml")
    addr = env["NEOSALE_REGISTRY_ADDR"]

    def pinned(name: str) -> str:
        return registry.pinned_ref(addr, f"{manifest.namespace}/{name}", manifest.images[name].tag)

    goversion = _go("env", "GOVERSION", env=env).strip()
    uv_wheel = pypi_wheel(f"uv=={UV_VERSION}", paths.cache / "downloads")
    python_base = pinned("python")
    return Inputs(
        goroot=go_module_dir(f"golang.org/toolchain@v0.0.1-{goversion}.linux-amd64", go_env),
        goproxy_dir=file_proxy(paths, go_env, work / "goproxy"),
        goproxy=_go("env", "GOPROXY", env=env).strip(),
        codegen=paths.codegen,
        sdk_go=paths.tree / "sdk" / "go",
        sdk_python=paths.tree / "sdk" / "python",
        runtime=unpack_runtime(runtime_tarball(paths), python_base, work / "runtime"),
        uv=extract_from_wheel(uv_wheel, "*.data/scripts/uv", paths.cache / "downloads"),
        uvx=extract_from_wheel(uv_wheel, "*.data/scripts/uvx", paths.cache / "downloads"),
        go_base=pinned("go-sdk-base"),
        python_base=python_base,
    )
