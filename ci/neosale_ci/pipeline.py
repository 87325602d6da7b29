"""`run`: checks (concurrent) → builds → Trivy gate → publish, then
optionally staging deploy → smoke → E2E (or E2E on an ephemeral stack).

Every stage is timed and recorded (stages.py); the first failing one stops
the ones after it, and the reports of what ran are still returned.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import replace
from functools import partial
from typing import Annotated

import dagger
from dagger import Doc, dag

from . import checks
from .build import BuildInfo, build_image
from .context import APPS, App, Context
from .delivery import Delivery, deliver
from .errors import StageError
from .gate import Severity
from .publish import EMBEDDED_HOST, Destination, ImagePush, PublishedImage, embedded_registry, preflight, push
from .report import RunReport
from .scan import ReportFormat, Scan
from .sdk import field, function, object_type
from .stages import Stages, Stopped
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
    images: Annotated[
        list[PublishedImage], Doc("the images published, one per app (none when publish did not pass)")
    ] = field(default=list)

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


async def run_pipeline(
    ctx: Context,
    *,
    info: BuildInfo,
    ref: str,
    registry: str,
    username: str,
    password: dagger.Secret | None,
    trivy_db: dagger.Directory | None,
    severity: Severity,
    base_migrations: dagger.Directory | None = None,
    delivery: Delivery | None = None,
) -> PipelineRun:
    """The stages in order; the first that fails stops the run, whose report says what ran."""
    report = RunReport(info.revision.sha)
    stages = Stages(report)
    info = replace(info, typechecked=True)  # the typecheck stage below gates every image
    sarif: dict[str, dagger.File] = {}
    delivered: dagger.Directory | None = None
    with suppress(Stopped):
        embedded = None if registry else EmbeddedRegistry(ctx.images.registry)
        try:
            # Without a registry, the embedded one starts alongside the checks,
            # so a warm run only waits for the pushes.
            starts = [] if embedded is None else [stages.named("embedded registry", embedded.start)]
            await stages.together(*_checks(ctx, stages, base_migrations), *starts)
            images = await build_and_scan(ctx, stages, info, trivy_db, severity, sarif)
            tags = tags_for(Revision(info.revision.sha, ref))
            dest = Destination(username, password, None if embedded is None else embedded.service)
            await publish_stage(stages, images, tags, registry, dest, ctx.images.registry)
        finally:
            if embedded is not None:
                await embedded.stop()
        if delivery is not None:
            delivered = await deliver(ctx, stages, info, delivery, report.images)
    return _outcome(report, sarif, delivered)


def _checks(
    ctx: Context, stages: Stages, base_migrations: dagger.Directory | None
) -> list[Callable[[], Awaitable[object]]]:
    """Every check, as concurrent branches."""
    steps: list[tuple[str, Callable[[], Awaitable[object]]]] = []
    for app in APPS:
        steps += [
            (f"lint ({app})", partial(checks.lint, ctx, app)),
            (f"typecheck ({app})", partial(checks.typecheck, ctx, app)),
            (f"unit tests ({app})", partial(checks.unit_test, ctx, app)),
        ]
    steps += [
        ("integration tests (backend)", partial(checks.integration_test, ctx)),
        ("dockerfile lint", partial(checks.dockerfile_lint, ctx)),
        ("secret scan", partial(checks.secret_scan, ctx)),
        ("migration safety", partial(checks.migration_safety, ctx, base_migrations)),
    ]
    return [stages.named(name, step) for name, step in steps]


def _outcome(
    report: RunReport, sarif: dict[str, dagger.File], delivered: dagger.Directory | None
) -> PipelineRun:
    failed = report.failed_stage
    return PipelineRun(
        passed=report.passed,
        failed_stage=failed.name if failed else "",
        markdown=report.to_markdown(),
        json=report.to_json(),
        sarif=_sarif_dir(sarif),
        delivery=delivered,
        images=list(report.images),
    )


async def build_and_scan(
    ctx: Context,
    stages: Stages,
    info: BuildInfo,
    trivy_db: dagger.Directory | None,
    severity: Severity,
    sarif: dict[str, dagger.File],
) -> dict[str, dagger.Container]:
    """Both images, each scanned as soon as it is built while the other builds.
    SARIF files land in `sarif`, also for an image that failed its gate."""
    images: dict[str, dagger.Container] = {}
    ignore = await _ignore_file(ctx)

    async def one(app: str) -> None:
        ctr = await stages.run(f"build ({app})", partial(_build_synced, ctx, app, info))
        images[app] = ctr
        # One Trivy scan per image: the gate reads its JSON, the SARIF is converted from it.
        scan = Scan(ctr, app, trivy_db, ctx.images.trivy, ignore)
        try:
            await stages.run(f"trivy gate ({app})", partial(scan.gate, severity))
        finally:
            with suppress(StageError, dagger.QueryError):  # a scan that failed is reported by the gate
                if scan.scanned():
                    sarif[app] = await scan.report(ReportFormat.SARIF)

    await stages.together(*(partial(one, app) for app in APPS))
    return {app: images[app] for app in APPS}


class EmbeddedRegistry:
    """A throwaway registry inside the engine for runs given none; `service` once started."""

    def __init__(self, image: str) -> None:
        self.image = image
        self.service: dagger.Service | None = None

    async def start(self) -> None:
        self.service = await embedded_registry(self.image).start()

    async def stop(self) -> None:
        if self.service is not None:
            await self.service.stop()


async def publish_stage(
    stages: Stages,
    images: dict[str, dagger.Container],
    tags: list[str],
    registry: str,
    dest: Destination,
    registry_image: str,
) -> None:
    """Preflight every image, then push each with all its tags.

    Without a registry the images go to an embedded registry service (`dest`'s
    when the caller started one, else one started and stopped here), so the run
    needs nothing outside the engine and still records digests.
    """
    report = stages.report
    if registry:
        return await _push_all(stages, images, tags, registry, dest)
    report.artifacts["registry"] = f"embedded ({EMBEDDED_HOST} inside the engine, gone after the run)"
    if dest.service is not None:
        return await _push_all(stages, images, tags, registry, dest)
    embedded = EmbeddedRegistry(registry_image)
    try:
        await stages.run("embedded registry", embedded.start)
        await _push_all(stages, images, tags, registry, replace(dest, service=embedded.service))
    finally:
        await embedded.stop()


async def _push_all(
    stages: Stages, images: dict[str, dagger.Container], tags: list[str], registry: str, dest: Destination
) -> None:
    namespace = registry.rstrip("/") or f"{EMBEDDED_HOST}/neosale"
    targets = [ImagePush(ctr, f"{namespace}/neosale-{app}", tags) for app, ctr in images.items()]
    checked = await stages.run("publish preflight", partial(preflight, targets, dest))
    for app, target in zip(images, checked, strict=True):
        digest = await stages.run(f"publish ({app})", partial(push, target, dest))
        stages.report.images.append(
            PublishedImage(app=App(app), repository=target.repository, digest=digest, tags=target.tags)
        )


def _sarif_dir(files: dict[str, dagger.File]) -> dagger.Directory:
    out = dag.directory()
    for app, f in sorted(files.items()):
        out = out.with_file(f"trivy-{app}.sarif", f)
    return out


async def _build_synced(ctx: Context, app: str, info: BuildInfo) -> dagger.Container:
    return await (await build_image(ctx, app, info)).sync()


async def _ignore_file(ctx: Context) -> dagger.File | None:
    return ctx.source.file(".trivyignore") if await ctx.source.glob(".trivyignore") else None
