"""The build and check runs over the image set: decide what to build from the
inputs hashes the registry records, build, check and publish the rest, and
check published images afresh.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Sequence
from typing import TextIO

from neosale_airgap import registry
from neosale_airgap.inputs import Inputs, base_archive, cached_sha256, resolve_inputs, rootfs_tarball
from neosale_airgap.manifest import Manifest
from neosale_airgap.planning import Decision, plan, short
from neosale_airgap.recipe import Builder, StepError, exec_detail
from neosale_airgap.results import Failure, ImageResult, Report, Status, progress


async def build_images(
    manifest: Manifest,
    names: Sequence[str],
    *,
    force: bool,
    no_cache: bool,
    env: dict[str, str],
    report: Report,
    log: TextIO,
) -> None:
    rootfs = rootfs_tarball(env)
    rootfs_sha = cached_sha256(rootfs)
    progress(f"resolving inputs of {', '.join(names)} (rootfs {rootfs.name} {rootfs_sha[:12]})")
    inputs = resolve_inputs(manifest, names, rootfs_sha, env)
    decisions = _decide(manifest, names, inputs, report.registry, force=force or no_cache)
    results = _settled(manifest, names, inputs, decisions, report.registry)
    todo = [n for n in names if n not in results]
    if todo:
        base_oci = base_archive(rootfs, rootfs_sha, env)
        builder = Builder(manifest, inputs, base_oci, bust=secrets.token_hex(8) if no_cache else "")
        results |= await _build_all(builder, todo, decisions, report.registry, log)
    report.images = [results[n] for n in names]


def _decide(
    manifest: Manifest, names: Sequence[str], inputs: Inputs, addr: str, *, force: bool
) -> dict[str, Decision]:
    """Build or skip each image whose inputs resolved, against the inputs the registry records."""
    ready = [n for n in names if n in inputs.hashes]
    published = {
        n: registry.published_inputs(addr, f"{manifest.namespace}/{n}", manifest.images[n].tag) for n in ready
    }
    return {d.name: d for d in plan(ready, inputs.hashes, published, force=force)}


def _settled(
    manifest: Manifest, names: Sequence[str], inputs: Inputs, decisions: dict[str, Decision], addr: str
) -> dict[str, ImageResult]:
    """The results known without the engine: inputs that failed, images up to date."""
    results: dict[str, ImageResult] = {}
    for name in names:
        ref = manifest.ref(name, addr)
        if name in inputs.errors:
            results[name] = ImageResult(
                name, ref, Status.FAILED, failure=Failure("inputs", inputs.errors[name])
            )
            progress(f"{name}: FAILED resolving inputs: {inputs.errors[name]}")
        elif not decisions[name].build:
            results[name] = ImageResult(
                name, ref, Status.SKIPPED, decisions[name].reason, inputs.hashes[name]
            )
            progress(f"{name}: {decisions[name].reason} ({short(inputs.hashes[name])}), skipped")
    return results


async def _build_all(
    builder: Builder, todo: Sequence[str], decisions: dict[str, Decision], addr: str, log: TextIO
) -> dict[str, ImageResult]:
    import dagger

    results: dict[str, ImageResult] = {}
    async with dagger.connection(dagger.Config(log_output=log)):
        for i, name in enumerate(todo, 1):
            ref = builder.manifest.ref(name, addr)
            progress(f"{name} ({i}/{len(todo)}): building {ref}: {decisions[name].reason}")
            results[name] = await _build_one(builder, name, ref, decisions[name].reason)
    return results


async def _build_one(builder: Builder, name: str, ref: str, reason: str) -> ImageResult:
    t0 = time.monotonic()
    res = ImageResult(name, ref, Status.BUILT, reason, builder.inputs.hashes[name])
    try:
        res.digest = await builder.publish(name, ref)
        progress(f"{name}: published {ref}@{res.digest} ({time.monotonic() - t0:.1f}s)")
    except StepError as exc:
        res.fail(exc.step, exc.detail)
        progress(
            f"{name}: FAILED at step '{exc.step}'; the registry keeps its previous {name} image\n{exc.detail}"
        )
    res.seconds = round(time.monotonic() - t0, 1)
    return res


async def check_images(manifest: Manifest, names: Sequence[str], report: Report, log: TextIO) -> None:
    import dagger

    nonce = secrets.token_hex(8)  # run the checks now, not from the engine's cache
    async with dagger.connection(dagger.Config(log_output=log)):
        for name in names:
            report.images.append(await _check_one(manifest, name, report.registry, nonce))


async def _check_one(manifest: Manifest, name: str, addr: str, nonce: str) -> ImageResult:
    import dagger
    from dagger import dag

    ref = manifest.ref(name, addr)
    t0 = time.monotonic()
    res = ImageResult(name, ref, Status.PASSED)
    try:
        await (
            dag.container()
            .from_(ref)
            .with_exec(["sh", "-c", f": {nonce}\n{manifest.images[name].check}"])
            .sync()
        )
        progress(f"{name}: check passed ({ref})")
    except dagger.DaggerError as exc:
        res.fail("check", exec_detail(exc))
        progress(f"{name}: check FAILED ({ref})\n{exec_detail(exc)}")
    res.seconds = round(time.monotonic() - t0, 1)
    return res
