"""Runs the checks over HTTP, each with its own bounded retries."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import anyio
import httpx

from .config import SmokeConfig
from .model import Attempt, CheckResult, Outcome, SmokeReport
from .spec import CheckSpec, Kind
from .verdict import (
    Verdict,
    asset_url,
    asset_verdict,
    http_verdict,
    latency_verdict,
    status_reason,
    version_verdict,
)

USER_AGENT = "neosale-smoke/0.1"
# Below this a request cannot meaningfully complete; used when a check's time budget is nearly spent.
_MIN_TIMEOUT_S = 0.05

_AttemptFn = Callable[[CheckSpec, str, float], Awaitable[Verdict]]


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 1)


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
        attempt: _AttemptFn = {
            Kind.HTTP: self._http,
            Kind.VERSION: self._version,
            Kind.STATIC: self._static,
            Kind.LATENCY: self._latency,
        }[spec.kind]

        async def one(deadline: float) -> Verdict:
            return await attempt(spec, url, deadline)

        return await self._with_retries(spec, url, one)

    async def _with_retries(
        self, spec: CheckSpec, url: str, one: Callable[[float], Awaitable[Verdict]]
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
    ) -> tuple[httpx.Response | None, Verdict]:
        """The response when it has the expected status, else the failed try saying why."""
        resp, error = await self._get(url, deadline)
        if resp is None:
            return None, Verdict(False, error)
        if resp.status_code != spec.expect_status:
            return None, Verdict(False, status_reason(spec.expect_status, resp), resp.status_code)
        return resp, Verdict(True, "")

    async def _http(self, spec: CheckSpec, url: str, deadline: float) -> Verdict:
        resp, failed = await self._get_expected(spec, url, deadline)
        return failed if resp is None else http_verdict(spec, resp)

    async def _version(self, spec: CheckSpec, url: str, deadline: float) -> Verdict:
        resp, failed = await self._get_expected(spec, url, deadline)
        return failed if resp is None else version_verdict(spec, resp, self.config.expect_sha)

    async def _static(self, spec: CheckSpec, url: str, deadline: float) -> Verdict:
        asset = url
        if _discovers(spec):
            page, error = await self._get(url, deadline)
            if page is None:
                return Verdict(False, f"page {url}: {error}")
            if page.status_code != httpx.codes.OK:
                return Verdict(False, f"page {url}: {status_reason(200, page)}", page.status_code)
            found = asset_url(page)
            if found is None:
                return Verdict(False, f"expected a /_next/static/ URL in the HTML of {url}, found none")
            asset = found
        resp, error = await self._get(asset, deadline)
        return Verdict(False, error, url=asset) if resp is None else asset_verdict(spec, asset, resp)

    async def _latency(self, spec: CheckSpec, url: str, deadline: float) -> Verdict:
        samples: list[float] = []
        for i in range(spec.warmup + spec.requests):
            label = "warm-up request" if i < spec.warmup else f"request {i - spec.warmup + 1}/{spec.requests}"
            if time.monotonic() >= deadline:
                return Verdict(
                    False, f"{label}: expected the sample to finish within retry.total_s, ran out of time"
                )
            t0 = time.perf_counter()
            resp, error = await self._get(url, deadline)
            elapsed = _ms(t0)
            if resp is None:
                return Verdict(False, f"{label}: {error}")
            if resp.status_code != spec.expect_status:
                return Verdict(False, f"{label}: {status_reason(spec.expect_status, resp)}", resp.status_code)
            if i >= spec.warmup:
                samples.append(elapsed)
        return latency_verdict(spec, samples)


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
