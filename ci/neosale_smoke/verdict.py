"""What one attempt at a check concludes from the HTTP answers it got.

Pure functions of the responses (no I/O), so each rule is unit-tested
without a server.
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import httpx

from .spec import CheckSpec

_STATIC_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']*/_next/static/[^"']+)["']""", re.IGNORECASE)
_SNIPPET_LEN = 160

Details = Mapping[str, str | int | float]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    status_code: int | None = None
    details: Details = field(default_factory=dict)
    url: str | None = None  # set when the URL finally checked is not the check's own (static asset)


def snippet(text: str) -> str:
    """A short single-line excerpt of a body, safe for logs and XML."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= _SNIPPET_LEN else flat[: _SNIPPET_LEN - 1] + "…"


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile: a value that was actually observed."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _got(resp: httpx.Response) -> str:
    body = snippet(resp.text)
    return f"{resp.status_code}: {body}" if body else f"{resp.status_code} (empty body)"


def status_reason(expected: int, resp: httpx.Response) -> str:
    location = resp.headers.get("location")
    redirect = f" redirecting to {location}" if location else ""
    return f"expected HTTP {expected}, got {_got(resp)}{redirect}"


def _json_value(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _same(got: object, expected: object) -> bool:
    # JSON true is not 1 and "1" is not 1: compare kinds as well as values.
    if isinstance(got, bool) or isinstance(expected, bool):
        return type(got) is type(expected) and got == expected
    if isinstance(got, int | float) and isinstance(expected, int | float):
        return got == expected
    return type(got) is type(expected) and got == expected


def _parse_json(resp: httpx.Response) -> tuple[Any, str]:
    try:
        return resp.json(), ""
    except ValueError:
        ctype = resp.headers.get("content-type", "no content type")
        return None, f"expected a JSON body, got {ctype}: {snippet(resp.text) or '(empty body)'}"


def _json_mismatch(spec: CheckSpec, resp: httpx.Response, data: Any) -> str:
    """Why the JSON body does not carry every expect_json value; empty when it does."""
    if not isinstance(data, dict):
        want = _json_value(dict(spec.expect_json))
        return f"expected a JSON object with {want}, got {snippet(resp.text)}"
    for key, want_value in spec.expect_json.items():
        if key not in data:
            return f"expected JSON {key}={_json_value(want_value)}, key missing in {snippet(resp.text)}"
        if not _same(data[key], want_value):
            return f"expected JSON {key}={_json_value(want_value)}, got {_json_value(data[key])}"
    return ""


def _list_items(spec: CheckSpec, resp: httpx.Response, data: Any) -> tuple[int, str]:
    """How many items the JSON list holds, or why it is not the list expected."""
    items = data.get("items") if isinstance(data, dict) else data
    if not isinstance(items, list):
        return 0, f"expected a JSON array or an object with an 'items' array, got {snippet(resp.text)}"
    if len(items) < spec.min_items:
        return 0, f"expected at least {spec.min_items} items, got {len(items)}"
    return len(items), ""


def _text_mismatch(spec: CheckSpec, text: str) -> str:
    for wanted in spec.expect_text:
        if wanted not in text:
            return f"expected the body to contain {wanted!r}, got: {snippet(text)}"
    for banned in spec.forbid_text:
        if banned in text:
            return f"expected the body not to contain {banned!r}, but it does"
    return ""


def http_verdict(spec: CheckSpec, resp: httpx.Response) -> Verdict:
    """An `http` check on an answer with the expected status: its JSON, then its text."""
    code = resp.status_code
    details: dict[str, str | int | float] = {}
    if spec.expect_json or spec.expect_list:
        data, error = _parse_json(resp)
        if not error and spec.expect_json:
            error = _json_mismatch(spec, resp, data)
        if not error and spec.expect_list:
            details["items"], error = _list_items(spec, resp, data)
        if error:
            return Verdict(False, error, code)
    if error := _text_mismatch(spec, resp.text):
        return Verdict(False, error, code)
    summary = f"HTTP {code}" + (f", {details['items']} items" if "items" in details else "")
    return Verdict(True, summary, code, details)


def version_verdict(spec: CheckSpec, resp: httpx.Response, expected: str | None) -> Verdict:
    """A `version` check on an answer with the expected status: the sha it reports, against `expected`."""
    code = resp.status_code
    data, error = _parse_json(resp)
    if error:
        return Verdict(False, error, code)
    sha = data.get(spec.sha_field) if isinstance(data, dict) else None
    if not isinstance(sha, str) or not sha:
        return Verdict(
            False, f"expected a string {spec.sha_field!r} in the JSON body, got {snippet(resp.text)}", code
        )
    # Hex is case-insensitive; anything else (short sha, other commit) is a mismatch.
    if expected is not None and sha.lower() != expected.strip().lower():
        return Verdict(False, f"expected {spec.sha_field} {expected!r}, got {sha!r}", code, {"sha": sha})
    checked = "" if expected is not None else " (not compared: no expected sha given)"
    return Verdict(True, f"{spec.sha_field} {sha}{checked}", code, {"sha": sha})


def asset_url(page: httpx.Response) -> str | None:
    """The first /_next/static/ URL the HTML page links to, absolute; None when it links none."""
    match = _STATIC_URL.search(page.text)
    return None if match is None else urljoin(str(page.url), html.unescape(match.group(1)))


def asset_verdict(spec: CheckSpec, url: str, resp: httpx.Response) -> Verdict:
    code = resp.status_code
    if code != spec.expect_status:
        return Verdict(False, f"{url}: {status_reason(spec.expect_status, resp)}", code, url=url)
    if not resp.content:
        return Verdict(False, f"expected a non-empty body from {url}, got 0 bytes", code, url=url)
    return Verdict(True, f"HTTP {code}, {len(resp.content)} bytes", code, {"asset": url}, url)


def latency_verdict(spec: CheckSpec, samples: list[float]) -> Verdict:
    """The p95 of the samples (ms) against the check's budget."""
    p95 = percentile(samples, 95)
    details: dict[str, str | int | float] = {
        "requests": len(samples),
        "p50_ms": percentile(samples, 50),
        "p95_ms": p95,
        "max_ms": max(samples),
        "budget_ms": spec.p95_ms,
    }
    stats = f"p50 {details['p50_ms']} ms, max {details['max_ms']} ms"
    if p95 > spec.p95_ms:
        return Verdict(
            False,
            f"expected p95 <= {spec.p95_ms:g} ms over {len(samples)} requests, got {p95} ms ({stats})",
            details=details,
        )
    return Verdict(
        True, f"p95 {p95} ms <= {spec.p95_ms:g} ms over {len(samples)} requests ({stats})", details=details
    )
