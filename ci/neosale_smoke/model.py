"""The smoke report: one result per check, with every attempt it took."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Outcome(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Attempt:
    number: int
    ok: bool
    elapsed_ms: float
    status_code: int | None  # None when no HTTP answer came back (or for a latency sample)
    reason: str  # why it failed; a short summary when it passed


@dataclass(frozen=True)
class CheckResult:
    name: str
    description: str
    url: str
    outcome: Outcome
    reason: str  # failure reason (expected vs got), skip reason, or a pass summary
    attempts: tuple[Attempt, ...] = ()
    duration_ms: float = 0.0
    details: Mapping[str, str | int | float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.outcome is Outcome.PASSED

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAILED


@dataclass(frozen=True)
class SmokeReport:
    base_url: str
    expect_sha: str | None
    started_at: str  # ISO 8601, UTC
    duration_ms: float
    checks: tuple[CheckResult, ...]

    def count(self, outcome: Outcome) -> int:
        return sum(1 for c in self.checks if c.outcome is outcome)

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.failed)

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def check(self, name: str) -> CheckResult:
        for result in self.checks:
            if result.name == name:
                return result
        raise KeyError(name)
