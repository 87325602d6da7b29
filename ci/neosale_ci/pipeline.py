"""`pipeline`: checks (concurrent) → builds → Trivy gate → publish.

Every stage is timed and recorded; the first failing phase stops the ones
after it, and the reports of what ran are still returned.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any

import anyio
import dagger
from dagger import Doc, dag, function, object_type

from . import checks
from .build import BuildInfo, build_image
from .context import APPS, Context
from .errors import StageError
from .publish import Published, publish
from .report import RunReport, StageResult
from .scan import ReportFormat, Scan
from .tags import tags_for


@object_type
class PipelineRun:
    """The outcome of one pipeline run and its reports."""

    passed: bool
    failed_stage: str
    markdown: Annotated[str, Doc("summary for $GITHUB_STEP_SUMMARY")]
    json: Annotated[str, Doc("the same, machine-readable")]
    sarif: Annotated[list[dagger.File], Doc("Trivy SARIF reports, one per image scanned")]

    @function
    def reports(self) -> dagger.Directory:
        """summary.md, report.json and trivy-<image>.sarif in one directory."""
        out = (
            dag.directory().with_new_file("summary.md", self.markdown).with_new_file("report.json", self.json)
        )
        for i, f in enumerate(self.sarif):
            out = out.with_file(f"trivy-{APPS[i] if i < len(APPS) else i}.sarif", f)
        return out

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
) -> PipelineRun:
    report = RunReport(info.revision.sha)
    sarif: list[dagger.File] = []

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
    async with anyio.create_task_group() as tg:
        for name, step in stages:
            tg.start_soon(_timed, report, name, step)

    images: dict[str, dagger.Container] = {}
    if report.passed:

        async def build(app: str) -> None:
            ctr = await _timed(report, f"build ({app})", partial(_build_synced, ctx, app, info))
            if ctr is not None:
                images[app] = ctr

        async with anyio.create_task_group() as tg:
            for app in APPS:
                tg.start_soon(build, app)

    if report.passed:
        for app in APPS:
            scan = Scan(images[app], app, trivy_db, ctx.images.trivy, await _ignore_file(ctx))
            sarif.append(await scan.report(ReportFormat.SARIF))
            await _timed(report, f"trivy gate ({app})", partial(scan.gate, severity))

    if report.passed and registry:
        tags = tags_for(info.revision, ())
        for app in APPS:
            repo = f"{registry.rstrip('/')}/neosale-{app}"
            push = partial(publish, images[app], repo, tags, username, password)
            done: Published | None = await _timed(report, f"publish ({app})", push)
            if done is not None:
                report.artifacts[f"{app} image"] = done.ref
    elif report.passed:
        report.add(StageResult("publish", "skipped", 0.0, "no registry given"))

    failed = report.failed_stage
    return PipelineRun(
        passed=report.passed,
        failed_stage=failed.name if failed else "",
        markdown=report.to_markdown(),
        json=report.to_json(),
        sarif=sarif,
    )


async def _build_synced(ctx: Context, app: str, info: BuildInfo) -> dagger.Container:
    return await (await build_image(ctx, app, info)).sync()


async def _ignore_file(ctx: Context) -> dagger.File | None:
    return ctx.source.file(".trivyignore") if await ctx.source.glob(".trivyignore") else None
