"""The shape of a smoke check: its kind, target, retry policy and expectations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

JSONScalar = str | int | float | bool


class ConfigError(ValueError):
    """Bad input (URL, config file, option): the message names the key and what it expects."""


class Target(StrEnum):
    PUBLIC = "public"
    FRONTEND = "frontend"
    BACKEND = "backend"


class Kind(StrEnum):
    HTTP = "http"
    VERSION = "version"
    STATIC = "static"
    LATENCY = "latency"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: `attempts` tries at most, all within `total_s`."""

    attempts: int = 5
    initial_delay_s: float = 0.5
    max_delay_s: float = 4.0
    total_s: float = 30.0

    def delay(self, failed_attempt: int) -> float:
        return float(min(self.initial_delay_s * 2 ** (failed_attempt - 1), self.max_delay_s))


@dataclass(frozen=True)
class RetryOverride:
    """Per-check changes to the global retry policy; None keeps the global value."""

    attempts: int | None = None
    initial_delay_s: float | None = None
    max_delay_s: float | None = None
    total_s: float | None = None

    def changes(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def apply(self, base: RetryPolicy) -> RetryPolicy:
        return replace(base, **self.changes())

    def then(self, later: RetryOverride) -> RetryOverride:
        """This override with `later`'s values on top."""
        return replace(self, **later.changes())


@dataclass(frozen=True)
class CheckSpec:
    """One check. Fields outside the check's kind keep their defaults (see KIND_KEYS)."""

    name: str
    kind: Kind
    target: Target = Target.PUBLIC
    path: str = "/"
    url: str | None = None  # absolute URL; wins over target + path
    description: str = ""
    enabled: bool = True
    expect_status: int = 200
    retry: RetryOverride = field(default_factory=RetryOverride)
    # http
    expect_json: Mapping[str, JSONScalar] = field(default_factory=dict)
    expect_text: tuple[str, ...] = ()
    forbid_text: tuple[str, ...] = ()
    expect_list: bool = False
    min_items: int = 0
    # version
    sha_field: str = "sha"
    # static (an empty path means: find a /_next/static/ URL in the page at discover_from)
    discover_from: str = "/"
    # latency
    requests: int = 20
    warmup: int = 2
    p95_ms: float = 500.0


_COMMON_KEYS = frozenset(
    {"kind", "enabled", "description", "target", "path", "url", "expect_status", "retry"}
)
KIND_KEYS: Mapping[Kind, frozenset[str]] = {
    Kind.HTTP: _COMMON_KEYS | {"expect_json", "expect_text", "forbid_text", "expect_list", "min_items"},
    Kind.VERSION: _COMMON_KEYS | {"sha_field"},
    Kind.STATIC: _COMMON_KEYS | {"discover_from"},
    Kind.LATENCY: _COMMON_KEYS | {"requests", "warmup", "p95_ms"},
}
