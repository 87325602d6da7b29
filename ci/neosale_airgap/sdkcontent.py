"""The engine's builtin SDK content, assembled offline by our own engine.

Module mode (`dagger call`, `dagger functions`, `dagger check`) needs two
images the official engine image ships in /usr/local/share/dagger/content:
the Go SDK (Go toolchain, git, codegen, warm caches), which builds runtime
modules, and the Python SDK (sdk/python, its runtime module, uv, a codegen
zipapp). Client mode needs neither, so the project's engine builds both here,
as upstream's toolchains/engine-dev/build/sdk.go does, from:

- the dagger/dagger tree at the pinned version (Go module proxy; install-dagger.sh),
- sdk/python/runtime, which the Go module zip leaves out: NEOSALE_DAGGER_SRC,
- Go itself (golang.org/toolchain on the Go module proxy), uv (PyPI),
- Debian stand-ins from the local registry as bases.

One deliberate difference: offline, the runtime's base image is the local
Python stand-in (no stand-in can carry the official digest); online users
get upstream's digest-pinned default. The blobs go to $NEOSALE_SDK_CONTENT,
the manifest digests to its engine.env, which engine.sh hands the engine.

    python -m neosale_airgap.sdkcontent build      # a no-op when inputs are unchanged
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from neosale_airgap import registry
from neosale_airgap.env import REPO_ROOT, apply_airgap_env
from neosale_airgap.fetch import extract_from_wheel, pypi_wheel, sha256_file
from neosale_airgap.manifest import load_manifest

if TYPE_CHECKING:
    import dagger

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


# --- the two images, built by the engine in client mode ---------------------


def go_sdk(inputs: Inputs) -> dagger.Container:
    """Upstream's goSDKContent on a Debian base: Go, codegen, git, warm caches."""
    from dagger import dag

    host = dag.host()
    return (
        dag.container()
        .from_(inputs.go_base)
        .with_directory("/usr/local/go", host.directory(str(inputs.goroot)))
        # The module cache stores files read-only and without exec bits.
        .with_exec(
            [
                "sh",
                "-c",
                "chmod -R u+w /usr/local/go && chmod +x /usr/local/go/bin/* /usr/local/go/pkg/tool/*/*",
            ]
        )
        .with_env_variable("GOPATH", "/go")
        .with_env_variable(
            "PATH", "/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        )
        .with_env_variable("GOTOOLCHAIN", "auto")
        .with_directory(GOPROXY_DIR, host.directory(str(inputs.goproxy_dir)))
        .with_env_variable("GOPROXY", f"file://{GOPROXY_DIR},{inputs.goproxy}")
        .with_file("/usr/local/bin/codegen", host.file(str(inputs.codegen)), permissions=0o755)
        .with_exec(["go", "build", "std"])
        .with_directory("/sdk", host.directory(str(inputs.sdk_go)))
        .with_exec(
            [
                "go",
                "list",
                "-C",
                "/sdk",
                "-e",
                "-export=true",
                "-compiled=true",
                "-deps=true",
                "-test=false",
                ".",
            ]
        )
        .without_directory("/sdk")
    )


def python_sdk(inputs: Inputs) -> dagger.Container:
    """Upstream's pythonSDKContent: a one-layer image of sdk/python + runtime/ + dist/."""
    from dagger import dag

    host = dag.host()
    rootfs = (
        dag.directory()
        .with_directory(
            "/", host.directory(str(inputs.sdk_python), include=PY_SDK_INCLUDE, exclude=PY_SDK_EXCLUDE)
        )
        .with_directory("runtime", host.directory(str(inputs.runtime)))
        .with_file("dist/uv", host.file(str(inputs.uv)), permissions=0o755)
        .with_file("dist/uvx", host.file(str(inputs.uvx)), permissions=0o755)
    )
    codegen = (
        dag.container()
        .from_(inputs.python_base)
        .with_directory("/usr/local/bin", rootfs.directory("dist"))
        # The SDK's workspace lock pins codegen's dependencies (graphql-core
        # 3.3 broke its API): export from it, frozen, not from a fresh resolve.
        .with_mounted_directory("/src", rootfs)
        .with_workdir("/src")
        .with_env_variable("UV_NATIVE_TLS", "true")
        .with_exec(
            [
                "uv",
                "export",
                "--frozen",
                "--no-hashes",
                "--no-editable",
                "--package",
                "codegen",
                "-o",
                "/requirements.txt",
            ]
        )
        .with_exec(
            [
                "uvx",
                f"shiv=={SHIV_VERSION}",
                "--reproducible",
                "--compressed",
                "-e",
                "codegen.cli:main",
                "-o",
                "/codegen",
                "-r",
                "/requirements.txt",
            ]
        )
        .file("/codegen")
    )
    return dag.container().with_rootfs(rootfs.with_file("dist/codegen", codegen, permissions=0o755))


async def export_blobs(ctr: dagger.Container, content: Path, work: Path) -> str:
    """Export `ctr` as an OCI tarball (zstd, as the engine image's content is), put
    its blobs into `content`, and return its manifest digest."""
    import dagger

    tarball = work / "image.tar"
    await ctr.export(str(tarball), forced_compression=dagger.ImageLayerCompression.Zstd)
    blobs = content / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as tf:
        index = json.load(tf.extractfile("index.json"))  # type: ignore[arg-type]
        for member in tf.getmembers():
            if member.isfile() and member.name.startswith("blobs/sha256/"):
                target = blobs / Path(member.name).name
                if not target.exists():
                    tf.extract(member, work / "x", filter="data")
                    (work / "x" / member.name).replace(target)
    tarball.unlink()
    digest: str = index["manifests"][0]["digest"]
    return digest


ENV_NAMES = {"go": "DAGGER_GO_SDK_MANIFEST_DIGEST", "python": "DAGGER_PYTHON_SDK_MANIFEST_DIGEST"}


def read_engine_env(content: Path) -> dict[str, str]:
    """The digests engine.sh hands the engine; empty when nothing was built."""
    path = content / "engine.env"
    if not path.is_file():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


async def build(paths: Paths, env: dict[str, str], log: TextIO) -> bool:
    """Build the content unless its inputs are unchanged; True when something was built."""
    import dagger

    with tempfile.TemporaryDirectory(dir=paths.cache) as tmp:
        work = Path(tmp)
        inputs = resolve(paths, env, work)
        stamp = paths.content / ".inputs"
        want = inputs.fingerprint()
        if stamp.is_file() and stamp.read_text().strip() == want and read_engine_env(paths.content):
            progress(f"up to date: {paths.content} ({want[:16]})")
            return False
        digests = {}
        async with dagger.connection(dagger.Config(log_output=log)):
            for name, ctr in (("go", go_sdk(inputs)), ("python", python_sdk(inputs))):
                progress(f"building the {name} SDK image")
                digests[ENV_NAMES[name]] = await export_blobs(ctr, paths.content, work)
                progress(f"{name} SDK: {digests[ENV_NAMES[name]]}")
        env_file = paths.content / "engine.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in sorted(digests.items())))
        stamp.write_text(want + "\n")
        return True


def progress(msg: str) -> None:
    print(f"[sdk-content] {msg}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m neosale_airgap.sdkcontent", description=__doc__.split("\n\n")[0]
    )
    p.add_argument("command", choices=["build", "env"], help="build the content, or print engine.env")
    args = p.parse_args(argv)
    env = apply_airgap_env()
    paths = Paths.from_env(env)
    if args.command == "env":
        sys.stdout.write("".join(f"{k}={v}\n" for k, v in read_engine_env(paths.content).items()))
        return 0
    import anyio

    log_path = paths.cache / "sdk-content.log"
    try:
        with log_path.open("w") as log:
            built = anyio.run(build, paths, env, log)
    except ContentError as exc:
        progress(f"error: {exc}")
        return 1
    except Exception as exc:  # a failed container step: the engine's message, the log for the rest
        progress(f"error: {type(exc).__name__}: {str(exc)[:2000]} (full log: {log_path})")
        return 1
    progress("built" if built else "nothing to do")
    return 0


if __name__ == "__main__":
    sys.exit(main())
