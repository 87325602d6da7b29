"""What the smoke run checks: the built-in NEOSALE checks (defaults.py) and
base URLs, changed by a TOML file and then by command-line options.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checktoml import check_spec, retry_override
from .defaults import DEFAULT_CHECKS
from .spec import CheckSpec, ConfigError, Kind, RetryPolicy, Target
from .values import as_number, as_optional_url, as_str, as_table, check_url, reject_unknown

__all__ = ["ConfigError", "SmokeConfig", "config_from_mapping", "load_config"]

_URL_HINT = {
    Target.FRONTEND: "frontend_url is not set (nginx routes /api/ to the backend, so the frontend's "
    "own /api/health is only reachable on the frontend itself)",
    Target.BACKEND: "backend_url is not set (nginx exposes only the backend's /api/ paths)",
}


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


_TOP_KEYS = ("base_url", "frontend_url", "backend_url", "expect_sha", "timeout_s", "retry", "checks")


def config_from_mapping(data: Mapping[str, Any], **overrides: str | None) -> SmokeConfig:
    """Build a config from parsed TOML; non-None `overrides` (CLI options) win over the file."""
    reject_unknown("", data, _TOP_KEYS)
    values: dict[str, Any] = {}
    for key in ("base_url", "frontend_url", "backend_url"):
        if key in data:
            values[key] = check_url(key, data[key]) if key == "base_url" else as_optional_url(key, data[key])
    if "expect_sha" in data:
        sha = as_str("expect_sha", data["expect_sha"])
        values["expect_sha"] = sha or None
    if "timeout_s" in data:
        values["timeout_s"] = as_number("timeout_s", data["timeout_s"])
    if "retry" in data:
        values["retry"] = retry_override("retry", data["retry"]).apply(RetryPolicy())
    defaults = {c.name: c for c in DEFAULT_CHECKS}
    checks = dict(defaults)
    if "checks" in data:
        for name, raw in as_table("checks", data["checks"]).items():
            checks[name] = check_spec(name, raw, defaults.get(name))
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
