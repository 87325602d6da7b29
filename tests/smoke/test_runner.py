"""The smoke checks against real HTTP servers emulating a NEOSALE deployment."""

from __future__ import annotations

import socket
import time

import pytest

from neosale_smoke import Outcome, RetryOverride, RetryPolicy, SmokeConfig, run_smoke, run_smoke_sync

from .conftest import Stack
from .servers import SHA, STATIC_PATH, UNAVAILABLE_HTML, Reply, fail_then

ALL_CHECKS = {
    "frontend_health",
    "api_health",
    "backend_health",
    "backend_ready",
    "backend_version",
    "home",
    "products",
    "static_asset",
    "latency",
}


def test_healthy_deployment_passes_every_check_first_time(stack: Stack) -> None:
    report = run_smoke_sync(stack.config())

    assert {c.name for c in report.checks} == ALL_CHECKS
    assert report.ok
    assert report.exit_code == 0
    for check in report.checks:
        assert check.outcome is Outcome.PASSED, check
        assert len(check.attempts) == 1
        assert check.attempts[0].ok
    assert report.check("backend_version").details["sha"] == SHA
    assert report.check("products").details["items"] == 1
    assert report.check("static_asset").url == stack.public.url + STATIC_PATH
    assert report.check("latency").details["requests"] == 5
    # api_health through nginx, backend_health directly, latency's 1 warm-up + 5 samples.
    assert stack.backend.hits["/health"] == 1 + 6 + 1


@pytest.mark.anyio
async def test_run_smoke_is_awaitable_for_the_deployer(stack: Stack) -> None:
    report = await run_smoke(stack.config())
    assert report.ok


def test_flaky_endpoint_passes_after_two_failures_and_records_every_attempt(stack: Stack) -> None:
    unavailable = Reply(503, {"status": "unavailable", "reason": "database unavailable"})
    ready = Reply(body={"status": "ready", "checks": {"database": "ok"}})
    stack.backend.routes["/ready"] = fail_then(2, unavailable, ready)

    check = run_smoke_sync(stack.config()).check("backend_ready")

    assert check.outcome is Outcome.PASSED
    assert [a.ok for a in check.attempts] == [False, False, True]
    assert [a.status_code for a in check.attempts] == [503, 503, 200]
    assert "expected HTTP 200, got 503" in check.attempts[0].reason
    assert "database unavailable" in check.attempts[0].reason
    assert stack.backend.hits["/ready"] == 3


def test_ready_500_fails_after_the_bounded_attempts(stack: Stack) -> None:
    stack.backend.routes["/ready"] = Reply(500, {"error": "internal", "message": "boom"})

    report = run_smoke_sync(stack.config())
    check = report.check("backend_ready")

    assert report.exit_code == 1
    assert [c.name for c in report.failures] == ["backend_ready"]
    assert check.outcome is Outcome.FAILED
    assert len(check.attempts) == 4
    assert not any(a.ok for a in check.attempts)
    assert check.reason.startswith("expected HTTP 200, got 500")
    assert check.reason.endswith("(after 4 attempts)")


def test_wrong_sha_fails_naming_expected_and_got(stack: Stack) -> None:
    stack.backend.routes["/version"] = Reply(body={"sha": "0ld5ha", "buildTime": "x", "version": "1.3.9"})

    check = run_smoke_sync(stack.config()).check("backend_version")

    assert check.outcome is Outcome.FAILED
    assert f"expected sha {SHA!r}, got '0ld5ha'" in check.reason
    assert check.details["sha"] == "0ld5ha"


def test_version_without_expected_sha_reports_it_uncompared(stack: Stack) -> None:
    check = run_smoke_sync(stack.config(expect_sha=None)).check("backend_version")
    assert check.outcome is Outcome.PASSED
    assert "not compared" in check.reason


def test_slow_endpoint_fails_the_latency_budget(stack: Stack) -> None:
    stack.public.routes["/api/health"] = Reply(
        body={"status": "ok", "service": "neosale-backend"}, delay_s=0.08
    )
    config = stack.config(checks={"latency": {"p95_ms": 40.0, "retry": RetryOverride(attempts=1)}})

    report = run_smoke_sync(config)
    latency = report.check("latency")

    assert latency.outcome is Outcome.FAILED
    assert "expected p95 <= 40 ms over 5 requests, got" in latency.reason
    assert float(latency.details["p95_ms"]) >= 80
    # Slow but correct: every other check still passes.
    assert [c.name for c in report.failures] == ["latency"]


def test_latency_sample_fails_on_an_error_answer(stack: Stack) -> None:
    healthy = Reply(body={"status": "ok", "service": "neosale-backend"})
    stack.public.routes["/api/health"] = lambda hit: healthy if hit <= 4 else Reply(502, "bad gateway")
    config = stack.config(
        checks={"latency": {"retry": RetryOverride(attempts=1)}, "api_health": {"enabled": False}}
    )

    check = run_smoke_sync(config).check("latency")

    assert check.outcome is Outcome.FAILED
    assert "request 4/5: expected HTTP 200, got 502" in check.reason


def test_frontend_health_through_nginx_reaches_the_backend_and_fails(stack: Stack) -> None:
    # The trap the per-target URLs exist for: nginx sends /api/health to the backend.
    check = run_smoke_sync(stack.config(frontend_url=stack.public.url)).check("frontend_health")

    assert check.outcome is Outcome.FAILED
    assert 'expected JSON service="neosale-frontend", got "neosale-backend"' in check.reason


def test_checks_without_their_direct_url_are_skipped_with_the_reason(stack: Stack) -> None:
    report = run_smoke_sync(stack.config(frontend_url=None, backend_url=None, expect_sha=None))

    skipped = {c.name: c.reason for c in report.checks if c.outcome is Outcome.SKIPPED}
    assert set(skipped) == {"frontend_health", "backend_health", "backend_ready"}
    assert "frontend_url is not set" in skipped["frontend_health"]
    assert "backend_url is not set" in skipped["backend_ready"]
    assert all(not c.attempts for c in report.checks if c.outcome is Outcome.SKIPPED)
    assert report.ok


@pytest.mark.parametrize("body", [[{"id": "p1"}], {"items": []}], ids=["array", "items"])
def test_products_accepts_an_array_or_items(stack: Stack, body: object) -> None:
    stack.backend.routes["/api/products"] = Reply(body=body)
    assert run_smoke_sync(stack.config()).check("products").outcome is Outcome.PASSED


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(body={"products": []}), "expected a JSON array or an object with an 'items' array"),
        (Reply(body="<html>oops</html>"), "expected a JSON body, got text/html"),
        (Reply(429, {"error": "rate_limited"}), "expected HTTP 200, got 429"),
    ],
    ids=["no-items", "html", "rate-limited"],
)
def test_products_rejects_other_answers(stack: Stack, reply: Reply, reason: str) -> None:
    stack.backend.routes["/api/products"] = reply
    check = run_smoke_sync(stack.config()).check("products")
    assert check.outcome is Outcome.FAILED
    assert reason in check.reason


def test_products_min_items(stack: Stack) -> None:
    check = run_smoke_sync(stack.config(checks={"products": {"min_items": 2}})).check("products")
    assert check.outcome is Outcome.FAILED
    assert "expected at least 2 items, got 1" in check.reason


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<html><body>Welcome</body></html>", "expected the body to contain 'NEOSALE'"),
        (UNAVAILABLE_HTML, "expected the body not to contain 'data-testid=\"products-unavailable\"'"),
    ],
    ids=["no-marker", "backend-unreachable"],
)
def test_home_page_content(stack: Stack, html: str, reason: str) -> None:
    stack.frontend.routes["/"] = Reply(body=html)
    check = run_smoke_sync(stack.config()).check("home")
    assert check.outcome is Outcome.FAILED
    assert reason in check.reason


def test_static_asset_404_fails_naming_the_asset(stack: Stack) -> None:
    stack.frontend.routes[STATIC_PATH] = Reply(404, "not found")
    check = run_smoke_sync(stack.config()).check("static_asset")
    assert check.outcome is Outcome.FAILED
    assert check.url == stack.public.url + STATIC_PATH
    assert f"{stack.public.url}{STATIC_PATH}: expected HTTP 200, got 404" in check.reason


def test_static_asset_needs_a_link_in_the_page(stack: Stack) -> None:
    stack.frontend.routes["/"] = Reply(body="<html><body>NEOSALE</body></html>")
    check = run_smoke_sync(stack.config()).check("static_asset")
    assert check.outcome is Outcome.FAILED
    assert "expected a /_next/static/ URL in the HTML of" in check.reason


def test_static_asset_at_a_configured_path(stack: Stack) -> None:
    check = run_smoke_sync(stack.config(checks={"static_asset": {"path": "/robots.txt"}})).check(
        "static_asset"
    )
    assert check.outcome is Outcome.PASSED
    assert check.url == stack.public.url + "/robots.txt"
    assert stack.frontend.hits["/"] == 1  # only the home check fetched the page


def test_request_timeout_is_reported(stack: Stack) -> None:
    stack.backend.routes["/ready"] = Reply(body={"status": "ready"}, delay_s=1.0)
    config = stack.config(timeout_s=0.2, checks={"backend_ready": {"retry": RetryOverride(attempts=2)}})

    check = run_smoke_sync(config).check("backend_ready")

    assert check.outcome is Outcome.FAILED
    assert len(check.attempts) == 2
    assert all(a.status_code is None for a in check.attempts)
    assert "expected an answer within 0.2 s, got ReadTimeout" in check.reason


def test_total_time_bounds_the_retries(stack: Stack) -> None:
    stack.backend.routes["/ready"] = Reply(503, {"status": "unavailable"})
    policy = RetryPolicy(attempts=100, initial_delay_s=0.1, max_delay_s=0.2, total_s=0.6)
    config = stack.config(checks={"backend_ready": {"retry": RetryOverride(**vars(policy))}})

    started = time.monotonic()
    check = run_smoke_sync(config).check("backend_ready")

    assert check.outcome is Outcome.FAILED
    assert 2 <= len(check.attempts) < 10
    assert "stopped early: the next retry would pass retry.total_s = 0.6 s" in check.reason
    assert time.monotonic() - started < 3


def test_unreachable_deployment_fails_fast_and_says_why() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = SmokeConfig(base_url=closed, retry=RetryPolicy(attempts=2, initial_delay_s=0.01))
    report = run_smoke_sync(config)

    api = report.check("api_health")
    assert api.outcome is Outcome.FAILED
    assert "got ConnectError" in api.reason
    assert closed in api.reason
    public = {"api_health", "backend_version", "home", "products", "static_asset", "latency"}
    assert {c.name for c in report.failures} == public


def test_backoff_is_exponential_and_capped() -> None:
    policy = RetryPolicy(initial_delay_s=0.5, max_delay_s=3.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
