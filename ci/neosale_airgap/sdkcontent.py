"""The engine's builtin SDK content, assembled offline by our own engine.

Module mode (`dagger call`, `dagger functions`, `dagger check`) needs two
images the official engine image ships in /usr/local/share/dagger/content:
the Go SDK (Go toolchain, git, codegen, warm caches), which builds runtime
modules, and the Python SDK (sdk/python, its runtime module, uv, a codegen
zipapp). Client mode needs neither, so the project's engine builds both here,
as upstream's toolchains/engine-dev/build/sdk.go does, from the inputs
sdkinputs.py resolves on the host.

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
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from neosale_airgap.env import apply_airgap_env
from neosale_airgap.sdkinputs import (
    GOPROXY_DIR,
    PY_SDK_EXCLUDE,
    PY_SDK_INCLUDE,
    SHIV_VERSION,
    ContentError,
    Inputs,
    Paths,
    resolve,
)

if TYPE_CHECKING:
    import dagger


# --- the two images, built by the engine in client mode ---------------------

# The module cache stores files read-only and without exec bits.
GO_MODES = "chmod -R u+w /usr/local/go && chmod +x /usr/local/go/bin/* /usr/local/go/pkg/tool/*/*"
GO_PATH = "/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Compiles sdk/go's dependency graph into the build cache, as upstream's image has it.
GO_LIST_SDK = [
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
# codegen's requirements from the SDK's own lock, then one zipapp of them.
UV_EXPORT_CODEGEN = [
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
SHIV_CODEGEN = [
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


def go_sdk(inputs: Inputs) -> dagger.Container:
    """Upstream's goSDKContent on a Debian base: Go, codegen, git, warm caches."""
    from dagger import dag

    host = dag.host()
    return (
        dag.container()
        .from_(inputs.go_base)
        .with_directory("/usr/local/go", host.directory(str(inputs.goroot)))
        .with_exec(["sh", "-c", GO_MODES])
        .with_env_variable("GOPATH", "/go")
        .with_env_variable("PATH", GO_PATH)
        .with_env_variable("GOTOOLCHAIN", "auto")
        .with_directory(GOPROXY_DIR, host.directory(str(inputs.goproxy_dir)))
        .with_env_variable("GOPROXY", f"file://{GOPROXY_DIR},{inputs.goproxy}")
        .with_file("/usr/local/bin/codegen", host.file(str(inputs.codegen)), permissions=0o755)
        .with_exec(["go", "build", "std"])
        .with_directory("/sdk", host.directory(str(inputs.sdk_go)))
        .with_exec(GO_LIST_SDK)
        .without_directory("/sdk")
        # And the Python SDK's runtime module, which every Python module load
        # builds with this image: its dependencies and their compiled packages.
        .with_directory("/runtime", host.directory(str(inputs.runtime)))
        .with_exec(["go", "build", "-C", "/runtime", "-o", "/dev/null", "."])
        .without_directory("/runtime")
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
        .with_exec(UV_EXPORT_CODEGEN)
        .with_exec(SHIV_CODEGEN)
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


def fingerprint(inputs: Inputs) -> str:
    """The inputs and this file's recipe for them: the build's cache key."""
    return hashlib.sha256((inputs.fingerprint() + Path(__file__).read_text()).encode()).hexdigest()


async def build(paths: Paths, env: dict[str, str], log: TextIO) -> bool:
    """Build the content unless its inputs are unchanged; True when something was built."""
    import dagger

    with tempfile.TemporaryDirectory(dir=paths.cache) as tmp:
        work = Path(tmp)
        inputs = resolve(paths, env, work)
        stamp = paths.content / ".inputs"
        want = fingerprint(inputs)
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
    p.add_argument("command", choices=["build"], help="build the content (nothing when inputs are unchanged)")
    p.parse_args(argv)
    env = apply_airgap_env()
    paths = Paths.from_env(env)
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
