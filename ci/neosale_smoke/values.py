"""Readers of config values: each returns the typed value or raises a
ConfigError that names the key and what it expects.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .spec import ConfigError, JSONScalar


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


def reject_unknown(key: str, table: Mapping[str, Any], allowed: frozenset[str] | tuple[str, ...]) -> None:
    for name in table:
        if name not in allowed:
            where = f"{key}.{name}" if key else name
            raise ConfigError(f"{where}: unknown key (expected one of: {', '.join(sorted(allowed))})")


def as_table(key: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a table, got {value!r}")
    return value


def as_str(key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    return value


def as_bool(key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    return value


def as_int(key: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key}: expected an integer >= {minimum}, got {value!r}")
    return value


def as_number(key: str, value: object, *, allow_zero: bool = False) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):  # type: ignore[operator]
        what = "a number >= 0" if allow_zero else "a positive number"
        raise ConfigError(f"{key}: expected {what}, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def as_strings(key: str, value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{key}: expected a string or a list of strings, got {value!r}")


def as_marker(key: str, value: object) -> dict[str, JSONScalar]:
    table = as_table(key, value)
    for name, item in table.items():
        if not isinstance(item, str | int | float | bool):
            raise ConfigError(f"{key}.{name}: expected a string, number or boolean, got {item!r}")
    return dict(table)


def as_optional_url(key: str, value: object) -> str | None:
    # TOML has no null: an empty string means "not set".
    if value == "":
        return None
    return check_url(key, value)
