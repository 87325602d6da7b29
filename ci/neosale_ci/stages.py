"""Running the pipeline's stages: each one timed and recorded in the run
report; a failure is recorded and stops the run (`Stopped`), so the code
after a stage only runs when it passed and gets its typed result."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import anyio
import dagger

from .errors import StageError
from .report import RunReport, StageResult

T = TypeVar("T")


class Stopped(Exception):
    """A stage failed and is in the report: the stages after it do not run."""

    def __init__(self, stage: str) -> None:
        super().__init__(stage)
        self.stage = stage


@dataclass(frozen=True)
class Stages:
    report: RunReport

    async def run(self, name: str, step: Callable[[], Awaitable[T]]) -> T:
        """`step`'s result, recorded as stage `name`; Stopped when it failed."""
        start = time.monotonic()
        try:
            result = await step()
        except StageError as exc:
            self._failed(name, start, exc.message)
        except dagger.QueryError as exc:  # engine-side failures (pull, build)
            self._failed(name, start, str(exc))
        self.report.add(StageResult(name, "passed", time.monotonic() - start))
        return result

    def _failed(self, name: str, start: float, detail: str) -> NoReturn:
        self.report.add(StageResult(name, "failed", time.monotonic() - start, detail))
        raise Stopped(name) from None

    async def together(self, *branches: Callable[[], Awaitable[object]]) -> None:
        """Run branches concurrently, each to its end (one failure does not
        cut the others short); Stopped when any of them stopped."""
        stopped: list[str] = []

        async def one(branch: Callable[[], Awaitable[object]]) -> None:
            try:
                await branch()
            except Stopped as exc:
                stopped.append(exc.stage)

        async with anyio.create_task_group() as tg:
            for branch in branches:
                tg.start_soon(one, branch)
        if stopped:
            raise Stopped(stopped[0])

    def named(self, name: str, step: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[object]]:
        """A branch for `together` that runs `step` as stage `name`."""

        async def branch() -> object:
            return await self.run(name, step)

        return branch
