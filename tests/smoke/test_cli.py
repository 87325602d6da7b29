"""`python -m neosale_smoke`: reports, exit codes, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from neosale_smoke.cli import main

from .conftest import Stack
from .servers import SHA, Reply
from .test_runner import ALL_CHECKS

# Fast retries and a small latency sample, through the TOML path the CLI reads.
FAST_TOML = """
timeout_s = 2.0

[retry]
attempts = 3
initial_delay_s = 0.01
max_delay_s = 0.02

[checks.latency]
requests = 5
warmup = 1
"""


def _args(stack: Stack, config: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--base-url",
        stack.public.url,
        "--frontend-url",
        stack.frontend.url,
        "--backend-url",
        stack.backend.url,
        "--config",
        str(config),
        "--junit",
        str(out / "smoke.xml"),
        "--markdown",
        str(out / "smoke.md"),
        "--json",
        str(out / "smoke.json"),
        *extra,
    ]


def _junit(path: Path) -> tuple[ET.Element, dict[str, ET.Element]]:
    root = ET.parse(path).getroot()  # noqa: S314 - our own report, not untrusted input
    suite = root.find("testsuite")
    assert suite is not None
    return suite, {case.attrib["name"]: case for case in suite.iter("testcase")}


@pytest.fixture
def fast_toml(tmp_path: Path) -> Path:
    path = tmp_path / "smoke.toml"
    path.write_text(FAST_TOML)
    return path


def test_module_entry_point_passes_and_writes_every_report(
    stack: Stack, fast_toml: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    cmd = [sys.executable, "-m", "neosale_smoke", *_args(stack, fast_toml, out, "--expect-sha", SHA)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=60)

    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASSED: 9 passed, 0 failed, 0 skipped" in run.stdout
    suite, cases = _junit(out / "smoke.xml")
    assert set(cases) == ALL_CHECKS
    assert (suite.attrib["tests"], suite.attrib["failures"], suite.attrib["skipped"]) == ("9", "0", "0")
    assert all(case.find("failure") is None for case in cases.values())
    markdown = (out / "smoke.md").read_text()
    assert markdown.startswith("## ✅ NEOSALE smoke: passed")
    data = json.loads((out / "smoke.json").read_text())
    assert data["ok"] is True
    assert data["summary"] == {"passed": 9, "failed": 0, "skipped": 0}
    assert sorted(p.name for p in out.iterdir()) == ["smoke.json", "smoke.md", "smoke.xml"]


def test_failures_exit_1_with_reasons_in_every_report(
    stack: Stack, fast_toml: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.backend.routes["/ready"] = Reply(500, {"error": "internal"})
    stack.backend.routes["/version"] = Reply(body={"sha": "0ld5ha"})

    code = main(_args(stack, fast_toml, tmp_path, "--expect-sha", SHA))

    assert code == 1
    suite, cases = _junit(tmp_path / "smoke.xml")
    assert (suite.attrib["tests"], suite.attrib["failures"]) == ("9", "2")
    failed = {name for name, case in cases.items() if case.find("failure") is not None}
    assert failed == {"backend_ready", "backend_version"}
    version_failure = cases["backend_version"].find("failure")
    assert version_failure is not None
    assert f"expected sha {SHA!r}, got '0ld5ha'" in version_failure.attrib["message"]
    assert "attempt 3: failed" in (version_failure.text or "")
    ready_failure = cases["backend_ready"].find("failure")
    assert ready_failure is not None
    assert "expected HTTP 200, got 500" in ready_failure.attrib["message"]

    markdown = (tmp_path / "smoke.md").read_text()
    assert markdown.startswith("## ❌ NEOSALE smoke: 2 of 9 checks failed")
    for name in ALL_CHECKS:
        assert f"| `{name}` |" in markdown
    assert "| `backend_ready` | ❌ FAIL |" in markdown

    data = json.loads((tmp_path / "smoke.json").read_text())
    assert data["summary"] == {"passed": 7, "failed": 2, "skipped": 0}
    ready = next(c for c in data["checks"] if c["name"] == "backend_ready")
    assert [a["status_code"] for a in ready["attempts"]] == [500, 500, 500]
    assert "FAIL  backend_ready" in capsys.readouterr().out


def test_skipped_checks_appear_in_junit_and_markdown(stack: Stack, fast_toml: Path, tmp_path: Path) -> None:
    args = ["--base-url", stack.public.url, "--config", str(fast_toml)]
    code = main([*args, "--junit", str(tmp_path / "j.xml"), "--markdown", str(tmp_path / "m.md")])

    assert code == 0
    suite, cases = _junit(tmp_path / "j.xml")
    assert suite.attrib["skipped"] == "3"  # the direct-URL checks; backend_version runs through nginx
    skipped = cases["backend_ready"].find("skipped")
    assert skipped is not None
    assert "backend_url is not set" in skipped.attrib["message"]
    assert "| `backend_ready` | ⏭️ skip |" in (tmp_path / "m.md").read_text()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('timeout_s = "fast"', "timeout_s: expected a positive number, got 'fast'"),
        ("[retry]\nattempts = 0", "retry.attempts: expected an integer >= 1, got 0"),
        ("[checks.latency]\np95_ms = -5", "checks.latency.p95_ms: expected a positive number, got -5"),
        ('[checks.home]\nexpect_txt = "NEOSALE"', "checks.home.expect_txt: unknown key"),
        ("[checks.home]\nrequests = 3", "checks.home.requests: unknown key"),
        ('[checks.admin]\npath = "/admin"', "checks.admin.kind: required for a check that is not built in"),
        (
            '[checks.products]\npath = "api/products"',
            "checks.products.path: expected a path starting with '/'",
        ),
        (
            '[checks.products]\ntarget = "cdn"',
            "checks.products.target: expected one of public, frontend, backend",
        ),
        ("[checks.frontend_health.expect_json]\nstatus = [1]", "checks.frontend_health.expect_json.status"),
        ('backend_url = "localhost:4000"', "backend_url: expected an absolute http(s) URL"),
        ("colour = 1", "colour: unknown key"),
        ("timeout_s = ", "invalid TOML"),
    ],
)
def test_bad_config_exits_2_naming_the_key_and_writes_nothing(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str], toml: str, message: str
) -> None:
    config = tmp_path / "smoke.toml"
    config.write_text(toml)
    out = tmp_path / "out"
    out.mkdir()

    assert main(_args(stack, config, out)) == 2

    err = capsys.readouterr().err
    assert err.startswith(f"neosale-smoke: error: {config}: ")
    assert message in err
    assert list(out.iterdir()) == []
    assert sum(stack.public.hits.values()) == 0  # nothing was run either


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--base-url", "not a url"], "--base-url: expected an absolute http(s) URL"),
        (["--base-url", "ftp://127.0.0.1"], "--base-url: expected an absolute http(s) URL"),
        (["--base-url", "http://127.0.0.1:99999"], "(bad port)"),
        ([], "base_url: expected an absolute http(s) URL (--base-url or base_url in the config)"),
        (["--base-url", "http://x", "--config", "/nonexistent/smoke.toml"], "cannot read the config"),
        (["--base-url", "http://x", "--expect-sha", ""], "expect_sha: expected a git sha"),
        (
            ["--base-url", "http://x", "--junit", "/nonexistent/dir/j.xml"],
            "--junit: expected a path in an existing",
        ),
    ],
)
def test_bad_arguments_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main([*argv, "--markdown", str(tmp_path / "m.md")]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_expect_sha_without_a_runnable_version_check_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "smoke.toml"
    config.write_text('[checks.backend_version]\ntarget = "backend"\n')  # and no backend_url
    argv = ["--base-url", "http://x", "--config", str(config), "--expect-sha", "abc"]
    assert main(argv) == 2
    assert "expect_sha: given, but checks.backend_version cannot run: backend_url is not set" in (
        capsys.readouterr().err
    )


def test_output_path_that_is_a_directory_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--base-url", "http://127.0.0.1:1", "--json", str(tmp_path)]) == 2
    assert "--json: expected a file path" in capsys.readouterr().err
