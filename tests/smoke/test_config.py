"""The TOML config over the built-in NEOSALE checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from neosale_smoke import (
    DEFAULT_CHECKS,
    ConfigError,
    Kind,
    Outcome,
    RetryPolicy,
    SmokeConfig,
    Target,
    load_config,
    run_smoke_sync,
)

from .conftest import Stack
from .servers import SHA

TOML = """
base_url = "http://127.0.0.1:8080/"
backend_url = "http://backend:4000"
frontend_url = ""

[retry]
attempts = 3

[checks.latency]
p95_ms = 250
requests = 10
retry = { total_s = 5 }

[checks.home]
expect_text = ["NEOSALE", "Products"]

[checks.static_asset]
enabled = false

[checks.robots]
kind = "http"
path = "/robots.txt"
expect_text = "User-agent"
"""


def test_toml_changes_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "smoke.toml"
    path.write_text(TOML)

    config = load_config(path, expect_sha="abc")

    assert config.base_url == "http://127.0.0.1:8080"  # trailing slash dropped
    assert config.frontend_url is None  # "" means not set
    assert config.expect_sha == "abc"
    assert config.retry == RetryPolicy(attempts=3)
    checks = {c.name: c for c in config.checks}
    assert list(checks)[: len(DEFAULT_CHECKS)] == [c.name for c in DEFAULT_CHECKS]
    latency = checks["latency"]
    assert (latency.p95_ms, latency.requests, latency.warmup) == (250.0, 10, 2)
    # The built-in latency override (2 attempts) is kept; total_s comes from the file.
    assert config.policy_for(latency) == RetryPolicy(attempts=2, total_s=5.0)
    assert checks["home"].expect_text == ("NEOSALE", "Products")
    assert checks["home"].forbid_text == ('data-testid="products-unavailable"',)
    assert not checks["static_asset"].enabled
    robots = checks["robots"]
    assert (robots.kind, robots.target, robots.expect_text) == (Kind.HTTP, Target.PUBLIC, ("User-agent",))


def test_cli_values_win_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "smoke.toml"
    path.write_text(TOML)
    config = load_config(path, base_url="https://neosale.example", backend_url=None)
    assert config.base_url == "https://neosale.example"
    assert config.backend_url == "http://backend:4000"


def test_custom_and_disabled_checks_run_as_configured(stack: Stack, tmp_path: Path) -> None:
    path = tmp_path / "smoke.toml"
    path.write_text(
        "[checks.robots]\n"
        'kind = "http"\npath = "/robots.txt"\nexpect_text = "User-agent"\n'
        "[checks.nginx]\n"
        'kind = "http"\npath = "/health"\nexpect_json = { service = "neosale-nginx" }\n'
        "[checks.static_asset]\nenabled = false\n"
        "[checks.latency]\nrequests = 3\n"
    )
    config = load_config(
        path,
        base_url=stack.public.url,
        frontend_url=stack.frontend.url,
        backend_url=stack.backend.url,
        expect_sha=SHA,
    )
    report = run_smoke_sync(config)

    assert report.ok
    assert report.check("robots").outcome is Outcome.PASSED
    assert report.check("nginx").outcome is Outcome.PASSED
    disabled = report.check("static_asset")
    assert (disabled.outcome, disabled.reason) == (Outcome.SKIPPED, "disabled in the config")


def test_library_callers_get_the_same_validation() -> None:
    with pytest.raises(ConfigError, match=r"base_url: expected an absolute http\(s\) URL"):
        SmokeConfig(base_url="127.0.0.1:8080")
    with pytest.raises(ConfigError, match="checks: expected unique names, got home more than once"):
        SmokeConfig(base_url="http://x", checks=(*DEFAULT_CHECKS, DEFAULT_CHECKS[5]))
    with pytest.raises(ConfigError, match="expect_sha: given, but no enabled check of kind 'version'"):
        SmokeConfig(
            base_url="http://x",
            backend_url="http://y",
            expect_sha="abc",
            checks=tuple(c for c in DEFAULT_CHECKS if c.kind is not Kind.VERSION),
        )


def test_kind_of_a_built_in_check_cannot_change(tmp_path: Path) -> None:
    path = tmp_path / "smoke.toml"
    path.write_text('[checks.home]\nkind = "latency"\n')
    with pytest.raises(ConfigError, match=r"checks\.home\.kind: the built-in check is of kind .http."):
        load_config(path, base_url="http://x")
