"""Build, list and check the air-gapped image set (airgap/images.toml).

    python -m neosale_airgap.images build [NAME ...] [--force] [--no-cache] [--json]
    python -m neosale_airgap.images list [--json]
    python -m neosale_airgap.images check [NAME ...] [--json]

Each image is built in the Dagger engine from the debootstrap rootfs (or from
another image of the manifest), checked, and only then published to the local
registry, labelled with the hash of its inputs. An image whose recorded hash
equals the one computed now is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from neosale_airgap import registry
from neosale_airgap.env import REPO_ROOT, apply_airgap_env
from neosale_airgap.fetch import FetchError, resolve_step, sha256_file
from neosale_airgap.manifest import (
    BUILDER_VERSION,
    INPUTS_LABEL,
    ROOTFS,
    Artifact,
    Image,
    Manifest,
    ManifestError,
    Step,
    UnknownImageError,
    inputs_hash,
    load_manifest,
    plan,
    short,
)
from neosale_airgap.oci import ImageConfig, rootfs_to_oci

if TYPE_CHECKING:
    import dagger

DEFAULT_MANIFEST = REPO_ROOT / "airgap" / "images.toml"
FETCH_DIR = "/run/neosale-fetch"  # in the container: package tarballs mounted for one step, never kept


def progress(msg: str) -> None:
    print(f"[images] {msg}", file=sys.stderr, flush=True)


# --- results -----------------------------------------------------------------


@dataclass
class ImageResult:
    name: str
    ref: str
    status: str  # built | skipped | failed | passed (check)
    reason: str = ""
    inputs: str = ""
    digest: str = ""
    step: str = ""
    error: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    command: str
    registry: str
    images: list[ImageResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.status != "failed" for r in self.images)

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "ok": self.ok}, indent=2)


class StepError(RuntimeError):
    """A build step failed: names the image and the step."""

    def __init__(self, image: str, step: str, detail: str) -> None:
        self.image, self.step, self.detail = image, step, detail
        super().__init__(f"image '{image}': step '{step}' failed: {detail}")


# --- host side: rootfs, inputs -------------------------------------------------


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


def resolve_inputs(manifest: Manifest, names: Sequence[str], rootfs_sha: str, env: dict[str, str]) -> Inputs:
    """Resolve every step input of `names` and their bases, and hash each image's inputs.

    An image whose inputs fail (and every image built on it) gets an error
    instead of a hash; the others carry on.
    """
    base_dir = (manifest.path or DEFAULT_MANIFEST).parent
    hashes: dict[str, str] = {}
    artifacts: dict[str, list[Artifact | None]] = {}
    errors: dict[str, str] = {}
    for name in manifest.build_order(names):
        image = manifest.images[name]
        if image.base != ROOTFS and image.base in errors:
            errors[name] = f"its base image '{image.base}' failed"
            continue
        resolved: list[Artifact | None] = []
        try:
            for step in image.steps:
                resolved.append(
                    resolve_step(
                        step,
                        base_dir=base_dir,
                        repo_root=REPO_ROOT,
                        cache=cache_dir(env) / "downloads",
                        env=env,
                    )
                )
        except FetchError as exc:
            errors[name] = f"step '{step.describe()}': {exc}"
            continue
        base_key = rootfs_sha if image.base == ROOTFS else hashes[image.base]
        artifacts[name] = resolved
        hashes[name] = inputs_hash(
            manifest, image, base_key=base_key, artifacts=[a for a in resolved if a is not None]
        )
    return Inputs(hashes, artifacts, errors)


# --- engine side ----------------------------------------------------------------


def apt_script(sources: Sequence[str], packages: Sequence[str]) -> str:
    """Shell for the apt step: our sources, no service starts, no caches left behind."""
    lines = ["set -eu"]
    if sources:
        quoted = " ".join(shlex.quote(s) for s in sources)
        lines.append(f"printf '%s\\n' {quoted} >/etc/apt/sources.list")
    if packages:
        lines += [
            # Package scripts must not start daemons inside a build step.
            "printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d",
            "apt-get update -q",
            "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
            + " ".join(shlex.quote(p) for p in packages),
            "apt-get clean",
            "rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d /var/log/apt /var/log/dpkg.log",
        ]
    return "\n".join(lines)


def labels(manifest: Manifest, image: Image, inputs: str, artifacts: Sequence[Artifact]) -> dict[str, str]:
    base = (
        "debian:bookworm (debootstrap minbase)"
        if image.base == ROOTFS
        else f"{manifest.namespace}/{image.base}:{manifest.images[image.base].tag}"
    )
    out = {
        "org.opencontainers.image.title": f"{manifest.namespace}/{image.name}",
        "org.opencontainers.image.description": image.description,
        "org.opencontainers.image.version": image.version,
        "org.opencontainers.image.vendor": "NeoSale CI (air-gapped stand-in, not an official image)",
        "org.opencontainers.image.base.name": base,
        INPUTS_LABEL: inputs,
        "dev.neosale.airgap.builder": BUILDER_VERSION,
    }
    if artifacts:
        out["dev.neosale.airgap.artifacts"] = " ".join(a.label for a in artifacts)
    return out


def _exec_detail(exc: Exception) -> str:
    import dagger

    if isinstance(exc, dagger.ExecError):
        tail = "\n".join((exc.stderr.strip() or exc.stdout.strip()).splitlines()[-15:])
        return f"exit code {exc.exit_code}\n{tail}"
    return str(exc).strip() or type(exc).__name__


class Builder:
    """The thin engine part: turns manifest entries into containers."""

    def __init__(self, manifest: Manifest, inputs: Inputs, base_oci: Path, *, bust: str = "") -> None:
        self.manifest = manifest
        self.inputs = inputs
        self.base_oci = base_oci
        self.bust = bust
        self._built: dict[str, dagger.Container] = {}

    async def step(self, image: str, what: str, ctr: dagger.Container) -> dagger.Container:
        import dagger

        t0 = time.monotonic()
        try:
            await ctr.sync()
        except dagger.DaggerError as exc:
            raise StepError(image, what, _exec_detail(exc)) from None
        progress(f"  {image}: {what} ({time.monotonic() - t0:.1f}s)")
        return ctr

    def _sh(self, script: str) -> list[str]:
        # The nonce (--no-cache) changes the command, so the engine runs it afresh.
        return ["sh", "-c", f": {self.bust}\n{script}" if self.bust else script]

    async def container(self, name: str) -> dagger.Container:
        """The configured (unchecked) container of `name`, bases built first."""
        if name in self._built:
            return self._built[name]
        from dagger import dag

        image = self.manifest.images[name]
        if image.base == ROOTFS:
            ctr = dag.container().import_(dag.host().file(str(self.base_oci)))
        else:
            ctr = (await self.container(image.base)).with_user("root")
        if image.base == ROOTFS or image.apt:
            sources = self.manifest.apt_sources if image.base == ROOTFS else ()
            what = f"apt-get install {' '.join(image.apt)}" if image.apt else "apt sources"
            ctr = await self.step(name, what, ctr.with_exec(self._sh(apt_script(sources, image.apt))))
        for step, art in zip(image.steps, self.inputs.artifacts[name], strict=True):
            ctr = await self.step(name, step.describe(), self._apply(ctr, step, art))
        for key, value in image.env:
            ctr = ctr.with_env_variable(key, value, expand=True)
        if image.workdir:
            ctr = ctr.with_workdir(image.workdir)
        if image.entrypoint:
            ctr = ctr.with_entrypoint(list(image.entrypoint))
        if image.cmd:
            ctr = ctr.with_default_args(list(image.cmd))
        for port in image.ports:
            ctr = ctr.with_exposed_port(port)
        ctr = ctr.with_user(self.manifest.effective_user(name) or "root")
        arts = [a for a in self.inputs.artifacts[name] if a is not None]
        for key, value in labels(self.manifest, image, self.inputs.hashes[name], arts).items():
            ctr = ctr.with_label(key, value)
        self._built[name] = ctr
        return ctr

    def _apply(self, ctr: dagger.Container, step: Step, art: Artifact | None) -> dagger.Container:
        from dagger import dag

        if step.kind == "run":
            return ctr.with_exec(self._sh(step.source))
        assert art is not None
        src = dag.host().file(str(art.path))
        if step.copies_single_file:
            return ctr.with_file(step.to, src, permissions=step.mode)
        # A whole npm package: unpack its 'package/' folder into `to`.
        tgz = f"{FETCH_DIR}/{art.path.name}"
        to = shlex.quote(step.to)
        return (
            ctr.with_mounted_file(tgz, src)
            .with_exec(
                self._sh(
                    f"mkdir -p {to} && tar -xzf {shlex.quote(tgz)} -C {to} "
                    "--strip-components=1 --no-same-owner"
                )
            )
            .without_mount(tgz)
        )

    def check(self, name: str, ctr: dagger.Container) -> dagger.Container:
        return ctr.with_exec(self._sh(self.manifest.images[name].check))


async def _build(
    manifest: Manifest,
    names: Sequence[str],
    *,
    force: bool,
    no_cache: bool,
    env: dict[str, str],
    report: Report,
    log: TextIO,
) -> None:
    addr = report.registry
    rootfs = rootfs_tarball(env)
    rootfs_sha = cached_sha256(rootfs)
    progress(f"resolving inputs of {', '.join(names)} (rootfs {rootfs.name} {rootfs_sha[:12]})")
    inputs = resolve_inputs(manifest, names, rootfs_sha, env)
    published = {
        n: registry.published_inputs(addr, f"{manifest.namespace}/{n}", manifest.images[n].tag)
        for n in names
        if n in inputs.hashes
    }
    decisions = {
        d.name: d
        for d in plan(
            [n for n in names if n in inputs.hashes], inputs.hashes, published, force=force or no_cache
        )
    }
    results: dict[str, ImageResult] = {}
    for name in names:
        ref = manifest.ref(name, addr)
        if name in inputs.errors:
            results[name] = ImageResult(name, ref, "failed", step="inputs", error=inputs.errors[name])
            progress(f"{name}: FAILED resolving inputs: {inputs.errors[name]}")
        elif not decisions[name].build:
            results[name] = ImageResult(name, ref, "skipped", decisions[name].reason, inputs.hashes[name])
            progress(f"{name}: {decisions[name].reason} ({short(inputs.hashes[name])}), skipped")
    todo = [n for n in names if n not in results]
    if todo:
        import dagger

        base_oci = base_archive(rootfs, rootfs_sha, env)
        builder = Builder(manifest, inputs, base_oci, bust=secrets.token_hex(8) if no_cache else "")
        async with dagger.connection(dagger.Config(log_output=log)):
            for i, name in enumerate(todo, 1):
                ref = manifest.ref(name, addr)
                progress(f"{name} ({i}/{len(todo)}): building {ref}: {decisions[name].reason}")
                t0 = time.monotonic()
                res = ImageResult(name, ref, "built", decisions[name].reason, inputs.hashes[name])
                try:
                    ctr = await builder.container(name)
                    await builder.step(name, "check", builder.check(name, ctr))
                    try:
                        res.digest = (await ctr.publish(ref)).rpartition("@")[2]
                    except dagger.DaggerError as exc:
                        raise StepError(name, "publish", _exec_detail(exc)) from None
                    progress(f"{name}: published {ref}@{res.digest} ({time.monotonic() - t0:.1f}s)")
                except StepError as exc:
                    res.status, res.step, res.error = "failed", exc.step, exc.detail
                    progress(
                        f"{name}: FAILED at step '{exc.step}'; the registry keeps its previous "
                        f"{name} image\n{exc.detail}"
                    )
                res.seconds = round(time.monotonic() - t0, 1)
                results[name] = res
    report.images = [results[n] for n in names]


async def _check(manifest: Manifest, names: Sequence[str], report: Report, log: TextIO) -> None:
    import dagger
    from dagger import dag

    nonce = secrets.token_hex(8)  # run the checks now, not from the engine's cache
    async with dagger.connection(dagger.Config(log_output=log)):
        for name in names:
            ref = manifest.ref(name, report.registry)
            t0 = time.monotonic()
            res = ImageResult(name, ref, "passed")
            try:
                await (
                    dag.container()
                    .from_(ref)
                    .with_exec(["sh", "-c", f": {nonce}\n{manifest.images[name].check}"])
                    .sync()
                )
                progress(f"{name}: check passed ({ref})")
            except dagger.DaggerError as exc:
                res.status, res.step, res.error = "failed", "check", _exec_detail(exc)
                progress(f"{name}: check FAILED ({ref})\n{res.error}")
            res.seconds = round(time.monotonic() - t0, 1)
            report.images.append(res)


class EngineDownError(RuntimeError):
    pass


def engine_reachable(env: dict[str, str]) -> None:
    """Fail fast when the engine socket is dead: the Dagger CLI would retry for minutes."""
    host = env.get("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "")
    if not host.startswith("unix://"):
        return  # another transport: let the SDK report on it
    path = host.removeprefix("unix://")
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(path)
    except OSError as exc:
        raise EngineDownError(
            f"no Dagger engine answers at {host} ({exc.strerror or exc}); "
            "start it with airgap/engine.sh start"
        ) from None


# --- CLI ----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m neosale_airgap.images",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST, help="default: airgap/images.toml")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build and publish images whose inputs changed")
    b.add_argument("names", nargs="*", metavar="NAME", help="images to build (default: all)")
    b.add_argument("--force", action="store_true", help="rebuild even when the inputs are unchanged")
    b.add_argument(
        "--no-cache",
        action="store_true",
        help="also rerun every step in the engine (fresh apt packages); implies --force",
    )
    c = sub.add_parser("check", help="run each image's check on the image in the registry")
    c.add_argument("names", nargs="*", metavar="NAME")
    sub.add_parser("list", help="the images of the manifest and what the registry holds")
    for s in (b, c, sub.choices["list"]):
        s.add_argument("--json", action="store_true", help="print a JSON report on stdout")
        s.add_argument(
            "--verbose", action="store_true", help="engine progress on stderr, not in the log file"
        )
    return p


def _list(manifest: Manifest, addr: str, as_json: bool) -> int:
    rows: list[dict[str, Any]] = []
    try:
        registry.ping(addr)
        up = True
    except registry.RegistryDownError:
        up = False
    for name, image in manifest.images.items():
        have = registry.published_inputs(addr, f"{manifest.namespace}/{name}", image.tag) if up else None
        rows.append(
            {
                "name": name,
                "ref": manifest.ref(name, addr),
                "version": image.version,
                "base": image.base,
                "published_inputs": have,
                "description": image.description,
            }
        )
    if as_json:
        print(json.dumps({"registry": addr, "registry_up": up, "images": rows}, indent=2))
    else:
        for r in rows:
            state = short(r["published_inputs"]) if r["published_inputs"] else "-"
            print(f"{r['name']:<11} {r['ref']:<45} {state:<12} {r['description']}")
        if not up:
            print(f"(registry at {addr} is down: airgap/registry.sh start)", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = apply_airgap_env()
    addr = env["NEOSALE_REGISTRY_ADDR"]
    try:
        manifest = load_manifest(args.manifest)
        if args.command == "list":
            return _list(manifest, addr, args.json)
        names = manifest.select(args.names)
        registry.ping(addr)
        engine_reachable(env)
    except UnknownImageError as exc:
        progress(f"error: {exc}")
        return 2
    except (ManifestError, registry.RegistryDownError, EngineDownError) as exc:
        progress(f"error: {exc}")
        return 1

    log_path = cache_dir(env) / f"{args.command}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    report = Report(args.command, addr)
    t0 = time.monotonic()
    import anyio
    import dagger

    with open(log_path, "w") as log_file:
        log: TextIO = sys.stderr if args.verbose else log_file
        try:
            if args.command == "build":
                anyio.run(
                    lambda: _build(
                        manifest,
                        names,
                        force=args.force,
                        no_cache=args.no_cache,
                        env=env,
                        report=report,
                        log=log,
                    )
                )
            else:
                anyio.run(lambda: _check(manifest, names, report, log))
        except (RuntimeError, OSError, dagger.DaggerError) as exc:
            progress(f"error: {exc} (engine log: {log_path})")
            return 1
    report.seconds = round(time.monotonic() - t0, 1)
    counts: dict[str, int] = {}
    for r in report.images:
        counts[r.status] = counts.get(r.status, 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    progress(f"{args.command}: {summary} in {report.seconds:.1f}s")
    if not report.ok:
        failed = [f"{r.name} (step '{r.step}')" for r in report.images if r.status == "failed"]
        progress(f"failed: {', '.join(failed)}; engine log: {log_path}")
    if args.json:
        print(report.to_json())
    return 0 if report.ok else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
