"""Runs the checks over HTTP, each with its own bounded retries."""

from __future__ import annotations

import html
import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import anyio
import httpx

from .config import SmokeConfig
from .spec import CheckSpec, Kind
from .model import Attempt, CheckResult, Outcome, SmokeReport

USER_AGENT = "neosale-smoke/0.1"
_STATIC_URL = re.compile(r"""(?:src|href)\s*=\s*["']([^"']*/_next/static/[^"']+)["']""", re.IGNORECASE)
_SNIPPET_LEN = 160
# Below this a request cannot meaningfully complete; used when a check's time budget is nearly spent.
_MIN_TIMEOUT_S = 0.05


@dataclass(frozen=True)
class _Try:
    ok: bool
    reason: str
    status_code: int | None = None
    details: Mapping[str, str | int | float] = field(default_factory=dict)
    url: str | None = None  # set when the URL finally checked is not the check's own (static asset)


_TryFn = Callable[[CheckSpec, str, float], Awaitable[_Try]]


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


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


def _status_reason(expected: int, resp: httpx.Response) -> str:
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


def _discovers(spec: CheckSpec) -> bool:
    """A static check without a fixed asset finds one in the page at discover_from."""
    return spec.kind is Kind.STATIC and spec.url is None and not spec.path


class _Runner:
    def __init__(self, config: SmokeConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.client = client

    async def run(self, spec: CheckSpec) -> CheckResult:
        url = self.config.url_for(spec, spec.discover_from if _discovers(spec) else spec.path)
        shown = url or f"{{{spec.target}_url}}{spec.path or spec.discover_from}"
        if not spec.enabled:
            return CheckResult(spec.name, spec.description, shown, Outcome.SKIPPED, "disabled in the config")
        if url is None:
            return CheckResult(
                spec.name, spec.description, shown, Outcome.SKIPPED, self.config.skip_reason(spec)
            )
        attempt: _TryFn = {
            Kind.HTTP: self._http,
            Kind.VERSION: self._version,
            Kind.STATIC: self._static,
            Kind.LATENCY: self._latency,
        }[spec.kind]

        async def one(deadline: float) -> _Try:
            return await attempt(spec, url, deadline)

        return await self._with_retries(spec, url, one)

    async def _with_retries(
        self, spec: CheckSpec, url: str, one: Callable[[float], Awaitable[_Try]]
    ) -> CheckResult:
        policy = self.config.policy_for(spec)
        started = time.perf_counter()
        deadline = time.monotonic() + policy.total_s
        attempts: list[Attempt] = []
        gave_up = ""
        for number in range(1, policy.attempts + 1):
            t0 = time.perf_counter()
            last = await one(deadline)
            attempts.append(Attempt(number, last.ok, _ms(t0), last.status_code, last.reason))
            if last.ok or number == policy.attempts:
                break
            delay = policy.delay(number)
            if time.monotonic() + delay >= deadline:
                gave_up = f"; stopped early: the next retry would pass retry.total_s = {policy.total_s:g} s"
                break
            await anyio.sleep(delay)
        count = len(attempts)
        if last.ok:
            outcome, reason = Outcome.PASSED, last.reason
        else:
            plural = "" if count == 1 else "s"
            outcome, reason = Outcome.FAILED, f"{last.reason} (after {count} attempt{plural}{gave_up})"
        return CheckResult(
            spec.name,
            spec.description,
            last.url or url,
            outcome,
            reason,
            tuple(attempts),
            _ms(started),
            dict(last.details),
        )

    async def _get(self, url: str, deadline: float) -> tuple[httpx.Response | None, str]:
        timeout = max(_MIN_TIMEOUT_S, min(self.config.timeout_s, deadline - time.monotonic()))
        try:
            return await self.client.get(url, timeout=timeout), ""
        except httpx.TimeoutException as err:
            return None, f"expected an answer within {timeout:.3g} s, got {type(err).__name__} from {url}"
        except httpx.HTTPError as err:
            return (
                None,
                f"expected an HTTP answer, got {type(err).__name__} ({err or 'no detail'}) from {url}",
            )

    async def _get_expected(
        self, spec: CheckSpec, url: str, deadline: float
    ) -> tuple[httpx.Response | None, _Try]:
        """The response when it has the expected status, else the failed try saying why."""
        resp, error = await self._get(url, deadline)
        if resp is None:
            return None, _Try(False, error)
        if resp.status_code != spec.expect_status:
            return None, _Try(False, _status_reason(spec.expect_status, resp), resp.status_code)
        return resp, _Try(True, "")

    async def _http(self, spec: CheckSpec, url: str, deadline: float) -> _Try:
        resp, failed = await self._get_expected(spec, url, deadline)
        if resp is None:
            return failed
        code = resp.status_code
        details: dict[str, str | int | float] = {}
        if spec.expect_json or spec.expect_list:
            data, error = _parse_json(resp)
            if error:
                return _Try(False, error, code)
            if spec.expect_json:
                if not isinstance(data, dict):
                    want = _json_value(dict(spec.expect_json))
                    return _Try(False, f"expected a JSON object with {want}, got {snippet(resp.text)}", code)
                for key, want_value in spec.expect_json.items():
                    if key not in data:
                        return _Try(
                            False,
                            f"expected JSON {key}={_json_value(want_value)}, "
                            f"key missing in {snippet(resp.text)}",
                            code,
                        )
                    if not _same(data[key], want_value):
                        return _Try(
                            False,
                            f"expected JSON {key}={_json_value(want_value)}, got {_json_value(data[key])}",
                            code,
                        )
            if spec.expect_list:
                items = data.get("items") if isinstance(data, dict) else data
                if not isinstance(items, list):
                    return _Try(
                        False,
                        f"expected a JSON array or an object with an 'items' array, got {snippet(resp.text)}",
                        code,
                    )
                if len(items) < spec.min_items:
                    return _Try(False, f"expected at least {spec.min_items} items, got {len(items)}", code)
                details["items"] = len(items)
        text = resp.text
        for wanted in spec.expect_text:
            if wanted not in text:
                return _Try(False, f"expected the body to contain {wanted!r}, got: {snippet(text)}", code)
        for banned in spec.forbid_text:
            if banned in text:
                return _Try(False, f"expected the body not to contain {banned!r}, but it does", code)
        summary = f"HTTP {code}" + (f", {details['items']} items" if "items" in details else "")
        return _Try(True, summary, code, details)

    async def _version(self, spec: CheckSpec, url: str, deadline: float) -> _Try:
        resp, failed = await self._get_expected(spec, url, deadline)
        if resp is None:
            return failed
        code = resp.status_code
        data, error = _parse_json(resp)
        if error:
            return _Try(False, error, code)
        sha = data.get(spec.sha_field) if isinstance(data, dict) else None
        if not isinstance(sha, str) or not sha:
            return _Try(
                False,
                f"expected a string {spec.sha_field!r} in the JSON body, got {snippet(resp.text)}",
                code,
            )
        expected = self.config.expect_sha
        # Hex is case-insensitive; anything else (short sha, other commit) is a mismatch.
        if expected is not None and sha.lower() != expected.strip().lower():
            return _Try(False, f"expected {spec.sha_field} {expected!r}, got {sha!r}", code, {"sha": sha})
        checked = "" if expected is not None else " (not compared: no expected sha given)"
        return _Try(True, f"{spec.sha_field} {sha}{checked}", code, {"sha": sha})

    async def _static(self, spec: CheckSpec, url: str, deadline: float) -> _Try:
        asset_url = url
        if _discovers(spec):
            page, error = await self._get(url, deadline)
            if page is None:
                return _Try(False, f"page {url}: {error}")
            if page.status_code != httpx.codes.OK:
                return _Try(False, f"page {url}: {_status_reason(200, page)}", page.status_code)
            match = _STATIC_URL.search(page.text)
            if match is None:
                return _Try(False, f"expected a /_next/static/ URL in the HTML of {url}, found none")
            asset_url = urljoin(str(page.url), html.unescape(match.group(1)))
        resp, error = await self._get(asset_url, deadline)
        if resp is None:
            return _Try(False, error, url=asset_url)
        code = resp.status_code
        if code != spec.expect_status:
            return _Try(
                False, f"{asset_url}: {_status_reason(spec.expect_status, resp)}", code, url=asset_url
            )
        if not resp.content:
            return _Try(
                False, f"expected a non-empty body from {asset_url}, got 0 bytes", code, url=asset_url
            )
        return _Try(True, f"HTTP {code}, {len(resp.content)} bytes", code, {"asset": asset_url}, asset_url)

    async def _latency(self, spec: CheckSpec, url: str, deadline: float) -> _Try:
        samples: list[float] = []
        total = spec.warmup + spec.requests
        for i in range(total):
            label = "warm-up request" if i < spec.warmup else f"request {i - spec.warmup + 1}/{spec.requests}"
            if time.monotonic() >= deadline:
                return _Try(
                    False, f"{label}: expected the sample to finish within retry.total_s, ran out of time"
                )
            t0 = time.perf_counter()
            resp, error = await self._get(url, deadline)
            elapsed = _ms(t0)
            if resp is None:
                return _Try(False, f"{label}: {error}")
            if resp.status_code != spec.expect_status:
                return _Try(False, f"{label}: {_status_reason(spec.expect_status, resp)}", resp.status_code)
            if i >= spec.warmup:
                samples.append(elapsed)
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
            return _Try(
                False,
                f"expected p95 <= {spec.p95_ms:g} ms over {len(samples)} requests, got {p95} ms ({stats})",
                details=details,
            )
        return _Try(
            True,
            f"p95 {p95} ms <= {spec.p95_ms:g} ms over {len(samples)} requests ({stats})",
            details=details,
        )


async def run_smoke(config: SmokeConfig) -> SmokeReport:
    """Run every check of `config`; never raises for a failing deployment, only reports it."""
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    results: dict[str, CheckResult] = {}
    headers = {"User-Agent": USER_AGENT, "Cache-Control": "no-cache"}
    async with httpx.AsyncClient(headers=headers, timeout=config.timeout_s, follow_redirects=False) as client:
        runner = _Runner(config, client)

        async def run_one(spec: CheckSpec) -> None:
            try:
                results[spec.name] = await runner.run(spec)
            except Exception as err:  # a bug in one check must not cost the report of the others
                reason = f"the check itself crashed: {type(err).__name__}: {err}"
                shown = config.url_for(spec, spec.path) or spec.path
                results[spec.name] = CheckResult(spec.name, spec.description, shown, Outcome.FAILED, reason)

        # Concurrent, so a broken deployment fails within one retry budget rather than the sum of them.
        async with anyio.create_task_group() as group:
            for spec in config.checks:
                if spec.kind is not Kind.LATENCY:
                    group.start_soon(run_one, spec)
        # Latency alone, afterwards: the other checks' traffic would skew the sample.
        for spec in config.checks:
            if spec.kind is Kind.LATENCY:
                await run_one(spec)
    return SmokeReport(
        base_url=config.base_url,
        expect_sha=config.expect_sha,
        started_at=started_at,
        duration_ms=_ms(t0),
        checks=tuple(results[spec.name] for spec in config.checks),
    )


def run_smoke_sync(config: SmokeConfig) -> SmokeReport:
    """run_smoke for callers without an event loop."""
    return anyio.run(run_smoke, config)
