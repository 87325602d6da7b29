"""What the smoke run checks: built-in NEOSALE checks, overridable from TOML.

NEOSALE's public URL is nginx, which sends `/api/*` to the backend and
everything else to the frontend. Hence three base URLs: `public` (nginx),
`frontend` and `backend` (the apps themselves). The frontend's own
`/api/health` and the backend's `/ready` and `/version` are not reachable
through nginx, so the checks on them need `frontend_url` / `backend_url` and
are skipped (visibly, in every report) when those are not set.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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

_BACKEND_MARKER: Mapping[str, JSONScalar] = {"status": "ok", "service": "neosale-backend"}

DEFAULT_CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        "frontend_health",
        Kind.HTTP,
        Target.FRONTEND,
        "/api/health",
        description="frontend liveness, on the frontend itself (nginx sends /api/ to the backend)",
        expect_json={"status": "ok", "service": "neosale-frontend"},
    ),
    CheckSpec(
        "api_health",
        Kind.HTTP,
        Target.PUBLIC,
        "/api/health",
        description="backend liveness through nginx (/api/health is the backend's /health)",
        expect_json=_BACKEND_MARKER,
    ),
    CheckSpec(
        "backend_health",
        Kind.HTTP,
        Target.BACKEND,
        "/health",
        description="backend liveness",
        expect_json=_BACKEND_MARKER,
    ),
    CheckSpec(
        "backend_ready",
        Kind.HTTP,
        Target.BACKEND,
        "/ready",
        description="backend readiness (PostgreSQL, Redis)",
        expect_json={"status": "ready"},
    ),
    CheckSpec(
        "backend_version", Kind.VERSION, Target.BACKEND, "/version", description="deployed backend revision"
    ),
    CheckSpec(
        "home",
        Kind.HTTP,
        Target.PUBLIC,
        "/",
        description="home page renders with the catalogue",
        expect_text=("NEOSALE",),
        # The page still answers 200 when the frontend cannot reach the backend.
        forbid_text=('data-testid="products-unavailable"',),
    ),
    CheckSpec(
        "products",
        Kind.HTTP,
        Target.PUBLIC,
        "/api/products",
        description="product catalogue API",
        expect_list=True,
    ),
    CheckSpec(
        "static_asset",
        Kind.STATIC,
        Target.PUBLIC,
        "",
        description="a Next.js build asset linked from the home page",
    ),
    CheckSpec(
        "latency",
        Kind.LATENCY,
        Target.PUBLIC,
        "/api/health",
        description="p95 latency of /api/health through nginx",
        # A second sample absorbs a cold start; more would hide a real regression.
        retry=RetryOverride(attempts=2),
    ),
)

_URL_HINT = {
    Target.FRONTEND: "frontend_url is not set (nginx routes /api/ to the backend, so the frontend's "
    "own /api/health is only reachable on the frontend itself)",
    Target.BACKEND: "backend_url is not set (nginx exposes only the backend's /api/ paths)",
}


def check_url(key: str, value: object) -> str:
    """An absolute http(s) URL without query or fragment, trailing slash removed."""
    expected = "an absolute http(s) URL such as http://127.0.0.1:8080"
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{key}: expected {expected}, got {value!r}")
    parts = urlsplit(value.strip())
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ConfigError(f"{key}: expected {expected}, got {value!r} (bad port)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{key}: expected {expected}, got {value!r}")
    if parts.query or parts.fragment:
        raise ConfigError(f"{key}: expected a base URL without query or fragment, got {value!r}")
    return value.strip().rstrip("/")


@dataclass(frozen=True)
class SmokeConfig:
    base_url: str
    frontend_url: str | None = None
    backend_url: str | None = None
    expect_sha: str | None = None
    timeout_s: float = 5.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    checks: tuple[CheckSpec, ...] = DEFAULT_CHECKS

    def __post_init__(self) -> None:
        # Validated here too so that library callers get the same errors as the CLI.
        object.__setattr__(self, "base_url", check_url("base_url", self.base_url))
        for key in ("frontend_url", "backend_url"):
            value = getattr(self, key)
            if value is not None:
                object.__setattr__(self, key, check_url(key, value))
        if self.expect_sha is not None and not self.expect_sha.strip():
            raise ConfigError("expect_sha: expected a git sha, got an empty string")
        if not (math.isfinite(self.timeout_s) and self.timeout_s > 0):
            raise ConfigError(f"timeout_s: expected a positive number of seconds, got {self.timeout_s!r}")
        names = [c.name for c in self.checks]
        if duplicates := sorted({n for n in names if names.count(n) > 1}):
            raise ConfigError(f"checks: expected unique names, got {', '.join(duplicates)} more than once")
        for check in self.checks:
            fixed = check.url is None and not (check.kind is Kind.STATIC and not check.path)
            if check.enabled and fixed and not check.path.startswith("/"):
                raise ConfigError(f"checks.{check.name}.path: expected a path starting with '/'")
        if self.expect_sha is not None:
            versions = [c for c in self.checks if c.kind is Kind.VERSION and c.enabled]
            if not versions:
                raise ConfigError("expect_sha: given, but no enabled check of kind 'version' can verify it")
            for check in versions:
                if self.url_for(check, check.path) is None:
                    raise ConfigError(
                        f"expect_sha: given, but checks.{check.name} cannot run: {self.skip_reason(check)}"
                    )

    def policy_for(self, check: CheckSpec) -> RetryPolicy:
        return check.retry.apply(self.retry)

    def base_for(self, target: Target) -> str | None:
        return {
            Target.PUBLIC: self.base_url,
            Target.FRONTEND: self.frontend_url,
            Target.BACKEND: self.backend_url,
        }[target]

    def url_for(self, check: CheckSpec, path: str) -> str | None:
        """The check's URL for `path`, or None when its target base URL is not configured."""
        if check.url is not None:
            return check.url
        base = self.base_for(check.target)
        return None if base is None else base + path

    def skip_reason(self, check: CheckSpec) -> str:
        return _URL_HINT.get(check.target, f"{check.target}_url is not set")


# --- TOML -------------------------------------------------------------------

_TOP_KEYS = ("base_url", "frontend_url", "backend_url", "expect_sha", "timeout_s", "retry", "checks")
_RETRY_KEYS = tuple(f.name for f in fields(RetryPolicy))


def _unknown(key: str, table: Mapping[str, Any], allowed: frozenset[str] | tuple[str, ...]) -> None:
    for name in table:
        if name not in allowed:
            where = f"{key}.{name}" if key else name
            raise ConfigError(f"{where}: unknown key (expected one of: {', '.join(sorted(allowed))})")


def _table(key: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a table, got {value!r}")
    return value


def _str(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def _bool(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def _int(key: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key}: expected an integer >= {minimum}, got {value!r}")
    return value


def _number(key: str, value: object, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):  # type: ignore[operator]
        what = "a number >= 0" if allow_zero else "a positive number"
        raise ConfigError(f"{key}: expected {what}, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _strings(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{key}: expected a string or a list of strings, got {value!r}")


def _marker(key: str, value: object) -> dict[str, JSONScalar]:
    table = _table(key, value)
    for name, item in table.items():
        if not isinstance(item, str | int | float | bool):
            raise ConfigError(f"{key}.{name}: expected a string, number or boolean, got {item!r}")
    return dict(table)


def _optional_url(key: str, value: object) -> str | None:
    # TOML has no null: an empty string means "not set".
    if value == "":
        return None
    return check_url(key, value)


def _retry(key: str, value: object) -> RetryOverride:
    table = _table(key, value)
    _unknown(key, table, _RETRY_KEYS)
    out: dict[str, Any] = {}
    if "attempts" in table:
        out["attempts"] = _int(f"{key}.attempts", table["attempts"], 1)
    for name in ("initial_delay_s", "max_delay_s"):
        if name in table:
            out[name] = _number(f"{key}.{name}", table[name], allow_zero=True)
    if "total_s" in table:
        out["total_s"] = _number(f"{key}.total_s", table["total_s"])
    return RetryOverride(**out)


def _check(name: str, value: object, default: CheckSpec | None) -> CheckSpec:
    key = f"checks.{name}"
    table = _table(key, value)
    if "kind" in table:
        raw_kind = _str(f"{key}.kind", table["kind"])
        if raw_kind not in Kind.__members__.values():
            raise ConfigError(f"{key}.kind: expected one of {', '.join(Kind)}, got {raw_kind!r}")
        kind = Kind(raw_kind)
        if default is not None and kind is not default.kind:
            raise ConfigError(
                f"{key}.kind: the built-in check is of kind {default.kind.value!r}, got {raw_kind!r}"
            )
    elif default is not None:
        kind = default.kind
    else:
        raise ConfigError(
            f"{key}.kind: required for a check that is not built in (one of {', '.join(Kind)}); "
            f"built-in checks: {', '.join(c.name for c in DEFAULT_CHECKS)}"
        )
    _unknown(key, table, KIND_KEYS[kind])
    spec = default if default is not None else CheckSpec(name, kind)
    changes: dict[str, Any] = {}
    for item, raw in table.items():
        sub = f"{key}.{item}"
        if item == "kind":
            continue
        if item == "target":
            target = _str(sub, raw)
            if target not in Target.__members__.values():
                raise ConfigError(f"{sub}: expected one of {', '.join(Target)}, got {target!r}")
            changes[item] = Target(target)
        elif item == "url":
            changes[item] = _optional_url(sub, raw)
        elif item in ("path", "discover_from"):
            path = _str(sub, raw)
            if path and not path.startswith("/"):
                raise ConfigError(f"{sub}: expected a path starting with '/', got {path!r}")
            changes[item] = path
        elif item in ("description", "sha_field"):
            changes[item] = _str(sub, raw)
        elif item in ("enabled", "expect_list"):
            changes[item] = _bool(sub, raw)
        elif item == "expect_status":
            status = _int(sub, raw, 100)
            if status > 599:
                raise ConfigError(f"{sub}: expected an HTTP status 100-599, got {status!r}")
            changes[item] = status
        elif item in ("min_items", "warmup"):
            changes[item] = _int(sub, raw, 0)
        elif item == "requests":
            changes[item] = _int(sub, raw, 1)
        elif item == "p95_ms":
            changes[item] = _number(sub, raw)
        elif item in ("expect_text", "forbid_text"):
            changes[item] = _strings(sub, raw)
        elif item == "expect_json":
            changes[item] = _marker(sub, raw)
        elif item == "retry":
            changes[item] = spec.retry.then(_retry(sub, raw))
    return replace(spec, **changes)


def config_from_mapping(data: Mapping[str, Any], **overrides: str | None) -> SmokeConfig:
    """Build a config from parsed TOML; non-None `overrides` (CLI options) win over the file."""
    _unknown("", data, _TOP_KEYS)
    values: dict[str, Any] = {}
    for key in ("base_url", "frontend_url", "backend_url"):
        if key in data:
            values[key] = check_url(key, data[key]) if key == "base_url" else _optional_url(key, data[key])
    if "expect_sha" in data:
        sha = _str("expect_sha", data["expect_sha"])
        values["expect_sha"] = sha or None
    if "timeout_s" in data:
        values["timeout_s"] = _number("timeout_s", data["timeout_s"])
    if "retry" in data:
        values["retry"] = _retry("retry", data["retry"]).apply(RetryPolicy())
    defaults = {c.name: c for c in DEFAULT_CHECKS}
    checks = dict(defaults)
    if "checks" in data:
        for name, raw in _table("checks", data["checks"]).items():
            checks[name] = _check(name, raw, defaults.get(name))
    values["checks"] = tuple(checks.values())
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "base_url" not in values:
        raise ConfigError("base_url: expected an absolute http(s) URL (--base-url or base_url in the config)")
    return SmokeConfig(**values)


def load_config(path: Path | None = None, **overrides: str | None) -> SmokeConfig:
    """The built-in defaults, changed by the TOML file at `path` and then by `overrides`."""
    if path is None:
        return config_from_mapping({}, **overrides)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the config: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: expected a UTF-8 TOML file") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: invalid TOML: {err}") from None
    try:
        return config_from_mapping(data, **overrides)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
