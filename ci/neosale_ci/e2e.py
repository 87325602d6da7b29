"""The Playwright journeys (e2e/) against a deployed URL or an ephemeral stack.

A failing journey is a result, not an exception: `run_e2e` returns an
EndToEndRun holding the JUnit report, the HTML report and the failures'
test-results (traces, screenshots), and its `verdict` fails naming the
journeys that broke, the way PipelineRun does for the pipeline. Its reports
carry the same report.json and summary.md as a pipeline run's, so CI gates on
the exported report of the one run (scripts/verdict.sh), never on a rerun.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Annotated

import dagger
from dagger import Doc, dag

from .build import BuildInfo
from .context import Context
from .errors import StageError
from .hostnet import check_url, reach
from .report import RunReport, StageResult, Status
from .sdk import function, object_type
from .stack import ROUTER_PORT
from .stack import stack as build_stack

STAGE = "e2e"
WORKDIR = "/e2e"
# playwright.config.ts writes junit.xml, html/ and test-results/ here.
REPORTS = f"{WORKDIR}/reports"
# The ephemeral stack's router as the browser sees it.
STACK_HOST = "neosale"
OUTPUT_TAIL = 6000


@dataclass(frozen=True)
class JunitSummary:
    tests: int
    failed: list[str]  # "file > name: first line of the failure"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:300]
    return ""


def summarize_junit(xml: str) -> JunitSummary:
    """Count the test cases and name the failed ones (failure or error)."""
    # Our own run's report, produced in the container just before.
    root = ET.fromstring(xml)  # noqa: S314
    tests = 0
    failed: list[str] = []
    for case in root.iter("testcase"):
        tests += 1
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is None:
            continue
        where = f"{case.get('classname', '')} > {case.get('name', '')}".strip(" >")
        detail = _first_line(problem.get("message") or "") or _first_line(problem.text or "")
        failed.append(f"{where}: {detail}" if detail else where)
    return JunitSummary(tests, failed)


@object_type
class EndToEndRun:
    """One Playwright run: the verdict and its reports."""

    passed: bool
    base_url: Annotated[str, Doc("the URL the journeys ran against")]
    tests: int
    failed: list[str]
    output: Annotated[str, Doc("Playwright's console output (tail)")]
    report: dagger.Directory
    seconds: float = 0.0
    revision: Annotated[str, Doc("the commit under test, when given")] = ""

    def run_report(self) -> RunReport:
        """This run as a one-stage run report: what scripts/verdict.sh reads."""
        report = RunReport(self.revision)
        status: Status = "passed" if self.passed else "failed"
        report.add(StageResult(f"{STAGE} ({self.base_url})", status, self.seconds, self._summary()))
        return report

    @function
    def reports(self) -> dagger.Directory:
        """junit.xml, html/ (the Playwright report), test-results/ (traces and
        screenshots of failed journeys), report.json and summary.md (the verdict's)."""
        report = self.run_report()
        return self.report.with_new_file("report.json", report.to_json()).with_new_file(
            "summary.md", report.to_markdown()
        )

    @function
    def junit(self) -> dagger.File:
        """The JUnit report, for a CI test-report action."""
        return self.report.file("junit.xml")

    def _summary(self) -> str:
        if self.passed:
            return f"{self.tests} journeys passed against {self.base_url}"
        if self.failed:
            lines = "\n".join(f"  {f}" for f in self.failed)
            return f"{len(self.failed)} of {self.tests} journeys failed against {self.base_url}:\n{lines}"
        return f"Playwright failed against {self.base_url} before any journey failed:\n{self.output}"

    @function
    def summary(self) -> str:
        """One line per failed journey, or the count that passed."""
        return f"{STAGE}: {self._summary()}"

    @function
    def verdict(self) -> str:
        """Fails naming the failed journeys: the exit code for CI."""
        if not self.passed:
            raise StageError(STAGE, self._summary())
        return f"{STAGE}: {self._summary()}"


def playwright(ctx: Context) -> dagger.Container:
    """The playwright image with e2e/'s dependencies installed; only the
    manifests feed `npm ci`, so an edit of a journey keeps it cached."""
    e2e = ctx.source.directory("e2e")
    manifests = (
        dag.directory()
        .with_file("package.json", e2e.file("package.json"))
        .with_file("package-lock.json", e2e.file("package-lock.json"))
    )
    return (
        ctx.with_ca(dag.container().from_(ctx.images.playwright))
        .with_user("root")
        .with_env_variable("CI", "true")
        .with_env_variable("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
        .with_env_variable("npm_config_update_notifier", "false")
        .with_env_variable("npm_config_fund", "false")
        .with_env_variable("npm_config_audit", "false")
        .with_mounted_cache("/root/.npm", dag.cache_volume("neosale-npm"))
        .with_directory(WORKDIR, manifests)
        .with_workdir(WORKDIR)
        .with_exec(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .with_directory(WORKDIR, e2e, exclude=["node_modules", "reports"])
    )


async def run_e2e(
    ctx: Context, base_url: str, target: dagger.Service | None = None, revision: str = ""
) -> EndToEndRun:
    """Run the journeys against base_url, or against `target` (a stack's
    router, bound as STACK_HOST) when base_url is empty; `revision` names the
    commit under test in the report."""
    if not await ctx.source.glob("e2e/playwright.config.ts"):
        raise StageError(STAGE, "e2e/playwright.config.ts is missing from the source directory")
    ctr, url = _aim(playwright(ctx), base_url, target)
    start = time.monotonic()
    done = await _journeys(ctr, url)
    code = await done.exit_code()
    output = "\n".join(p.strip() for p in (await done.stdout(), await done.stderr()) if p.strip())
    # Synced: the caller may stop the stack before reading the reports.
    report = await done.directory(REPORTS).sync()
    summary = JunitSummary(0, [])
    if await report.glob("junit.xml"):
        summary = summarize_junit(await report.file("junit.xml").contents())
    return EndToEndRun(
        passed=code == 0 and summary.tests > 0 and not summary.failed,
        base_url=url,
        tests=summary.tests,
        failed=summary.failed,
        output=output[-OUTPUT_TAIL:],
        report=report,
        seconds=time.monotonic() - start,
        revision=revision,
    )


def _aim(ctr: dagger.Container, base_url: str, target: dagger.Service | None) -> tuple[dagger.Container, str]:
    """The browser's container and the URL it opens: base_url, else the stack bound as STACK_HOST."""
    if base_url:
        return reach(ctr, check_url(STAGE, "base_url", base_url))  # also a stack on this machine's loopback
    if target is not None:
        return ctr.with_service_binding(STACK_HOST, target), f"http://{STACK_HOST}:{ROUTER_PORT}"
    raise StageError(STAGE, "neither a base_url nor a stack to run against")


async def _journeys(ctr: dagger.Container, url: str) -> dagger.Container:
    """Playwright's run against `url`, synced whatever its exit code."""
    return await (
        ctr.with_env_variable("BASE_URL", url)
        # A journey run is an observation of a live system: never a cache hit.
        .with_env_variable("NEOSALE_E2E_RUN", str(time.time_ns()))
        .with_directory(REPORTS, dag.directory())
        .with_exec(["node_modules/.bin/playwright", "test"], expect=dagger.ReturnType.ANY)
        .sync()
    )


async def run_e2e_on_stack(ctx: Context, info: BuildInfo) -> EndToEndRun:
    """The journeys on an ephemeral stack of this build, stopped afterwards."""
    stack = await build_stack(ctx, info, [f"http://{STACK_HOST}:{ROUTER_PORT}"])
    try:
        return await run_e2e(ctx, "", stack.router, info.revision.sha)
    finally:
        await stack.stop()
