"""The smoke stage: the project's smoke runner (ci/neosale_smoke) in the runner
image against a deployed NEOSALE; its reports come back whether it passed or not."""

from __future__ import annotations

import time
from typing import Annotated

import dagger
from dagger import Doc, dag

from .context import Context
from .errors import StageError
from .hostnet import check_url, reach
from .runner import runner
from .sdk import function, object_type

OUT = "/work/reports"
CONFIG = "/work/smoke.toml"
# neosale_smoke's exit codes: 0 passed, 1 a check failed, 2 bad input.
_FAILED = 1


@object_type
class SmokeRun:
    """One smoke run against a URL: its verdict and its reports."""

    passed: bool
    summary: Annotated[str, Doc("one line per check, as the runner printed it")]
    reports: Annotated[dagger.Directory, Doc("junit.xml, summary.md and smoke.json")]

    @function
    def verdict(self) -> str:
        """Fails when a check failed, with the runner's summary: the exit code for CI."""
        if not self.passed:
            raise StageError("smoke", self.summary)
        return self.summary


async def run_smoke(ctx: Context, base_url: str, sha: str, config: dagger.File | None) -> SmokeRun:
    ctr, url = reach(await runner(ctx), check_url("smoke", "base_url", base_url))
    argv = ["python", "-m", "neosale_smoke", "--base-url", url]
    argv += ["--junit", f"{OUT}/junit.xml", "--markdown", f"{OUT}/summary.md", "--json", f"{OUT}/smoke.json"]
    if sha:
        argv += ["--expect-sha", sha]
    if config is not None:
        ctr = ctr.with_mounted_file(CONFIG, config)
        argv += ["--config", CONFIG]
    # The service under test changes under the same inputs: never a cached answer.
    ctr = ctr.with_env_variable("NEOSALE_RUN_AT", str(time.time_ns())).with_directory(OUT, dag.directory())
    done = await ctr.with_exec(argv, expect=dagger.ReturnType.ANY).sync()
    code = await done.exit_code()
    summary = (await done.stdout()).strip()
    if code not in (0, _FAILED):
        raise StageError(
            "smoke", f"the smoke runner refused its input (exit {code}): {(await done.stderr()).strip()}"
        )
    return SmokeRun(passed=code == 0, summary=summary, reports=done.directory(OUT))
