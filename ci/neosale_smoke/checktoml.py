"""The [retry] and [checks.NAME] tables of the TOML config, read into typed values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from functools import partial
from typing import Any

from .defaults import DEFAULT_CHECKS
from .spec import KIND_KEYS, CheckSpec, ConfigError, Kind, RetryOverride, RetryPolicy, Target
from .values import (
    as_bool,
    as_int,
    as_marker,
    as_number,
    as_optional_url,
    as_str,
    as_strings,
    as_table,
    reject_unknown,
)

_RETRY_KEYS = tuple(f.name for f in fields(RetryPolicy))


def retry_override(key: str, value: object) -> RetryOverride:
    table = as_table(key, value)
    reject_unknown(key, table, _RETRY_KEYS)
    out: dict[str, Any] = {}
    if "attempts" in table:
        out["attempts"] = as_int(f"{key}.attempts", table["attempts"], 1)
    for name in ("initial_delay_s", "max_delay_s"):
        if name in table:
            out[name] = as_number(f"{key}.{name}", table[name], allow_zero=True)
    if "total_s" in table:
        out["total_s"] = as_number(f"{key}.total_s", table["total_s"])
    return RetryOverride(**out)


def _target(key: str, value: object) -> Target:
    target = as_str(key, value)
    if target not in Target.__members__.values():
        raise ConfigError(f"{key}: expected one of {', '.join(Target)}, got {target!r}")
    return Target(target)


def _path(key: str, value: object) -> str:
    path = as_str(key, value)
    if path and not path.startswith("/"):
        raise ConfigError(f"{key}: expected a path starting with '/', got {path!r}")
    return path


def _status(key: str, value: object) -> int:
    status = as_int(key, value, 100)
    if status > 599:
        raise ConfigError(f"{key}: expected an HTTP status 100-599, got {status!r}")
    return status


# The reader of each check key but 'kind' and 'retry' (whose value adds to the check's own).
FIELD_READERS: Mapping[str, Callable[[str, object], object]] = {
    "target": _target,
    "url": as_optional_url,
    "path": _path,
    "discover_from": _path,
    "description": as_str,
    "sha_field": as_str,
    "enabled": as_bool,
    "expect_list": as_bool,
    "expect_status": _status,
    "min_items": partial(as_int, minimum=0),
    "warmup": partial(as_int, minimum=0),
    "requests": partial(as_int, minimum=1),
    "p95_ms": as_number,
    "expect_text": as_strings,
    "forbid_text": as_strings,
    "expect_json": as_marker,
}


def _kind(key: str, table: Mapping[str, Any], default: CheckSpec | None) -> Kind:
    """The check's kind: a built-in check keeps its own, a new one must say it."""
    if "kind" not in table:
        if default is not None:
            return default.kind
        raise ConfigError(
            f"{key}.kind: required for a check that is not built in (one of {', '.join(Kind)}); "
            f"built-in checks: {', '.join(c.name for c in DEFAULT_CHECKS)}"
        )
    raw_kind = as_str(f"{key}.kind", table["kind"])
    if raw_kind not in Kind.__members__.values():
        raise ConfigError(f"{key}.kind: expected one of {', '.join(Kind)}, got {raw_kind!r}")
    kind = Kind(raw_kind)
    if default is not None and kind is not default.kind:
        raise ConfigError(
            f"{key}.kind: the built-in check is of kind {default.kind.value!r}, got {raw_kind!r}"
        )
    return kind


def check_spec(name: str, value: object, default: CheckSpec | None) -> CheckSpec:
    """The check `name` of the TOML file: the built-in `default` changed, or a new check."""
    key = f"checks.{name}"
    table = as_table(key, value)
    kind = _kind(key, table, default)
    reject_unknown(key, table, KIND_KEYS[kind])
    spec = default if default is not None else CheckSpec(name, kind)
    changes: dict[str, Any] = {}
    for item, raw in table.items():
        if item == "retry":
            changes[item] = spec.retry.then(retry_override(f"{key}.{item}", raw))
        elif item != "kind":
            changes[item] = FIELD_READERS[item](f"{key}.{item}", raw)
    return replace(spec, **changes)
