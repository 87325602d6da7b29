"""`pipeline`: checks (concurrent) → builds → Trivy gate → publish, then
optionally staging deploy → smoke → E2E (or E2E on an ephemeral stack).

Every stage is timed and recorded; the first failing phase stops the ones
after it, and the reports of what ran are still returned.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, replace
from functools import partial
from typing import Annotated, Any

import anyio
import dagger
from dagger import Doc, dag

from . import checks
from .build import BuildInfo, build_image
from .context import APPS, Context
from .deploy import Deployment, digest_args
from .e2e import STACK_HOST, run_e2e
from .errors import StageError
from .publish import EMBEDDED_HOST, Destination, ImagePush, Published, embedded_registry, preflight, push
from .report import RunReport, StageResult
from .scan import ReportFormat, Scan
from .sdk import function, object_type
from .smoke import run_smoke
from .stack import ROUTER_PORT
from .stack import stack as build_stack
from .tags import Revision, tags_for


@object_type
class PipelineRun:
    """The outcome of one pipeline run and its reports."""

    passed: bool
    failed_stage: str
    markdown: Annotated[str, Doc("summary for $GITHUB_STEP_SUMMARY")]
    json: Annotated[str, Doc("the same, machine-readable")]
    sarif: Annotated[dagger.Directory, Doc("trivy-<image>.sarif for every image scanned")]
    delivery: Annotated[
        dagger.Directory | None, Doc("smoke/ and e2e/ reports (JUnit, HTML) when those stages ran")
    ] = None

    @function
    def reports(self) -> dagger.Directory:
        """summary.md, report.json and trivy-<image>.sarif in one directory."""
        out = (
            dag.directory().with_new_file("summary.md", self.markdown).with_new_file("report.json", self.json)
        )
        out = out.with_directory(".", self.sarif)
        return out if self.delivery is None else out.with_directory(".", self.delivery)

    @function
    def verdict(self) -> str:
        """Fails when the run failed, naming the stage: the exit code for CI."""
        if not self.passed:
            raise StageError(self.failed_stage, "the pipeline failed; see summary.md")
        return "passed"


async def _timed(report: RunReport, name: str, step: Callable[[], Awaitable[Any]]) -> Any:
    start = time.monotonic()
    try:
        result = await step()
    except StageError as exc:
        report.add(StageResult(name, "failed", time.monotonic() - start, exc.message))
        return None
    except dagger.QueryError as exc:  # engine-side failures (pull, build)
        report.add(StageResult(name, "failed", time.monotonic() - start, str(exc)))
        return None
    report.add(StageResult(name, "passed", time.monotonic() - start))
    return result


async def run_pipeline(
    ctx: Context,
    *,
    info: BuildInfo,
    ref: str,
    registry: str,
    username: str,
    password: dagger.Secret | None,
    trivy_db: dagger.Directory | None,
    severity: str,
    base_migrations: dagger.Directory | None = None,
    delivery: Delivery | None = None,
) -> PipelineRun:
    report = RunReport(info.revision.sha)
    info = replace(info, typechecked=True)  # the typecheck stage below gates every image

    stages: list[tuple[str, Callable[[], Awaitable[Any]]]] = []
    for app in APPS:
        stages += [
            (f"lint ({app})", partial(checks.lint, ctx, app)),
            (f"typecheck ({app})", partial(checks.typecheck, ctx, app)),
            (f"unit tests ({app})", partial(checks.unit_test, ctx, app)),
        ]
    stages += [
        ("integration tests (backend)", partial(checks.integration_test, ctx)),
        ("dockerfile lint", partial(checks.dockerfile_lint, ctx)),
        ("secret scan", partial(checks.secret_scan, ctx)),
        ("migration safety", partial(checks.migration_safety, ctx, base_migrations)),
    ]
    # Without a registry, the embedded one starts alongside the checks, so a
    # warm run only waits for the pushes.
    embedded: dagger.Service | None = None

    async def start_embedded() -> None:
        nonlocal embedded
        embedded = await _timed(report, "embedded registry", embedded_registry(ctx.images.registry).start)

    sarif: dict[str, dagger.File] = {}
    try:
        async with anyio.create_task_group() as tg:
            for name, step in stages:
                tg.start_soon(_timed, report, name, step)
            if not registry:
                tg.start_soon(start_embedded)
        images = await _build_and_scan(ctx, report, info, trivy_db, severity, sarif) if report.passed else {}
        if report.passed:
            await publish_stage(
                report,
                images,
                tags_for(Revision(info.revision.sha, ref)),
                registry=registry,
                username=username,
                password=password,
                registry_image=ctx.images.registry,
                service=embedded,
            )
    finally:
        if embedded is not None:
            await embedded.stop()

    delivered = None
    if report.passed and delivery is not None:
        delivered = await deliver(ctx, report, info, delivery)

    failed = report.failed_stage
    return PipelineRun(
        passed=report.passed,
        failed_stage=failed.name if failed else "",
        markdown=report.to_markdown(),
        json=report.to_json(),
        sarif=_sarif_dir(sarif),
        delivery=delivered,
    )


@dataclass(frozen=True)
class Delivery:
    """The optional stages after publish: a staging deploy of the published
    digests with smoke and E2E against `staging_url`, or E2E alone on an
    ephemeral stack of this build."""

    e2e: bool = False
    staging: Deployment | None = None
    staging_url: str = ""


async def deliver(ctx: Context, report: RunReport, info: BuildInfo, delivery: Delivery) -> dagger.Directory:
    """Run the delivery stages; their reports, whether they passed or not."""
    out = dag.directory()
    sha = info.revision.sha
    if delivery.staging is not None:
        refs = [report.artifacts.get(f"{app} image", "") for app in ("backend", "frontend")]
        args = digest_args(refs[0], refs[1], sha, "")
        await _timed(
            report, "deploy (staging)", partial(delivery.staging.run, "deploy (staging)", "deploy", *args)
        )

        async def smoke() -> None:
            nonlocal out
            run = await run_smoke(ctx, delivery.staging_url, sha, None)
            out = out.with_directory("smoke", run.reports)
            run.verdict()

        if report.passed:
            await _timed(report, "smoke (staging)", smoke)

    async def end_to_end() -> None:
        nonlocal out
        if delivery.staging is not None:
            run = await run_e2e(ctx, delivery.staging_url)
        else:
            stack = await build_stack(ctx, info, [f"http://{STACK_HOST}:{ROUTER_PORT}"])
            try:
                run = await run_e2e(ctx, "", stack.router)
            finally:
                await stack.stop()
        out = out.with_directory("e2e", run.reports())
        run.verdict()

    if report.passed and (delivery.e2e or delivery.staging is not None):
        where = "staging" if delivery.staging is not None else "ephemeral stack"
        await _timed(report, f"e2e ({where})", end_to_end)
    return out


async def _build_and_scan(
    ctx: Context,
    report: RunReport,
    info: BuildInfo,
    trivy_db: dagger.Directory | None,
    severity: str,
    sarif: dict[str, dagger.File],
) -> dict[str, dagger.Container]:
    """Both images, each scanned as soon as it is built while the other builds;
    every image when all passed. SARIF files land in `sarif`."""
    images: dict[str, dagger.Container] = {}
    ignore = await _ignore_file(ctx)

    async def one(app: str) -> None:
        ctr = await _timed(report, f"build ({app})", partial(_build_synced, ctx, app, info))
        if ctr is None:
            return
        images[app] = ctr
        # One Trivy scan per image: the gate reads its JSON, the SARIF is converted from it.
        scan = Scan(ctr, app, trivy_db, ctx.images.trivy, ignore)
        await _timed(report, f"trivy gate ({app})", partial(scan.gate, severity))
        with suppress(StageError, dagger.QueryError):  # a scan that failed is reported by the gate
            if scan.scanned():
                sarif[app] = await scan.report(ReportFormat.SARIF)

    async with anyio.create_task_group() as tg:
        for app in APPS:
            tg.start_soon(one, app)
    return {app: images[app] for app in APPS} if report.passed else {}


async def publish_stage(
    report: RunReport,
    images: dict[str, dagger.Container],
    tags: list[str],
    *,
    registry: str,
    username: str,
    password: dagger.Secret | None,
    registry_image: str,
    service: dagger.Service | None = None,
) -> None:
    """Preflight every image, then push each with all its tags.

    Without a registry the images go to an embedded registry service (`service`
    when the caller started it, else one started and stopped here), so the run
    needs nothing outside the engine and still records digests.
    """
    if not registry:
        report.artifacts["registry"] = f"embedded ({EMBEDDED_HOST} inside the engine, gone after the run)"
    own = not registry and service is None
    if own:
        service = await _timed(report, "embedded registry", embedded_registry(registry_image).start)
        if service is None:
            return
    namespace = registry.rstrip("/") or f"{EMBEDDED_HOST}/neosale"
    dest = Destination(username, password, service)
    targets = [ImagePush(ctr, f"{namespace}/neosale-{app}", tags) for app, ctr in images.items()]
    try:
        checked = await _timed(report, "publish preflight", partial(preflight, targets, dest))
        for app, target in zip(images, checked or [], strict=False):  # none when the preflight failed
            done: Published | None = await _timed(report, f"publish ({app})", partial(push, target, dest))
            if done is None:
                break
            report.artifacts[f"{app} image"] = done.ref
    finally:
        if own and service is not None:
            await service.stop()


def _sarif_dir(files: dict[str, dagger.File]) -> dagger.Directory:
    out = dag.directory()
    for app, f in sorted(files.items()):
        out = out.with_file(f"trivy-{app}.sarif", f)
    return out


async def _build_synced(ctx: Context, app: str, info: BuildInfo) -> dagger.Container:
    return await (await build_image(ctx, app, info)).sync()


async def _ignore_file(ctx: Context) -> dagger.File | None:
    return ctx.source.file(".trivyignore") if await ctx.source.glob(".trivyignore") else None
