"""What a build or check run of the image set tells: progress on stderr, one result per image."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from enum import StrEnum


def progress(msg: str) -> None:
    print(f"[images] {msg}", file=sys.stderr, flush=True)


class Status(StrEnum):
    BUILT = "built"
    SKIPPED = "skipped"
    FAILED = "failed"
    PASSED = "passed"  # check


@dataclass(frozen=True)
class Failure:
    """Where an image's run stopped, and the tool's message."""

    step: str
    error: str


@dataclass
class ImageResult:
    name: str
    ref: str
    status: Status
    reason: str = ""
    inputs: str = ""
    digest: str = ""
    failure: Failure | None = None
    seconds: float = 0.0

    def fail(self, step: str, error: str) -> None:
        self.status, self.failure = Status.FAILED, Failure(step, error)


@dataclass
class Report:
    command: str
    registry: str
    images: list[ImageResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(r.status is not Status.FAILED for r in self.images)

    @property
    def failed(self) -> list[ImageResult]:
        return [r for r in self.images if r.status is Status.FAILED]

    def summary(self) -> str:
        """How many images ended in each status, e.g. '1 built, 9 skipped'."""
        counts: dict[str, int] = {}
        for r in self.images:
            counts[r.status] = counts.get(r.status, 0) + 1
        return ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "ok": self.ok}, indent=2)
