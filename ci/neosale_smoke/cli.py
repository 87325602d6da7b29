"""`python -m neosale_smoke`: exit 0 when every check passes, 1 when any fails, 2 on bad input."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import anyio

from .config import SmokeConfig, load_config
from .model import Outcome, SmokeReport
from .report import to_json, to_junit, to_markdown, write_files
from .runner import run_smoke
from .spec import ConfigError
from .values import check_url

EXIT_PASSED, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
_PROG = "neosale-smoke"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=_PROG,
        description="Post-deploy smoke checks of NEOSALE. Exit 0: all pass; 1: a check failed; 2: bad input",
    )
    p.add_argument("--base-url", help="public URL (nginx), e.g. http://127.0.0.1:8080; wins over the config")
    p.add_argument("--frontend-url", help="the frontend itself, for its own /api/health")
    p.add_argument("--backend-url", help="the backend itself, for /health and /ready")
    p.add_argument("--config", type=Path, help="TOML file changing the built-in checks (see README)")
    p.add_argument(
        "--expect-sha", help="git sha that the backend's /version (/api/version through nginx) must report"
    )
    p.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    p.add_argument("--markdown", type=Path, help="write a markdown summary here")
    p.add_argument("--json", type=Path, help="write a JSON report here")
    return p


def _check_output(option: str, path: Path) -> None:
    # Checked before any request, so bad input never leaves a run without its reports.
    if path.is_dir():
        raise ConfigError(f"{option}: expected a file path, got the directory {path}")
    parent = path.parent
    if not parent.is_dir():
        raise ConfigError(f"{option}: expected a path in an existing directory, {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"{option}: expected a writable directory, cannot write in {parent}")


def _summary(report: SmokeReport) -> str:
    width = max((len(c.name) for c in report.checks), default=0)
    label = {Outcome.PASSED: "PASS", Outcome.FAILED: "FAIL", Outcome.SKIPPED: "SKIP"}
    lines = [f"NEOSALE smoke against {report.base_url}"]
    for c in report.checks:
        tries = f"{len(c.attempts)} attempt{'' if len(c.attempts) == 1 else 's'}" if c.attempts else "-"
        lines.append(f"{label[c.outcome]}  {c.name:<{width}}  {tries:<10}  {c.url}\n      {c.reason}")
    counts = ", ".join(f"{report.count(o)} {o.value}" for o in Outcome)
    lines.append(
        f"{'FAILED' if report.failures else 'PASSED'}: {counts} in {report.duration_ms / 1000:.1f} s"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # argparse itself exits 2 on unknown options
    requested = (("--junit", args.junit), ("--markdown", args.markdown), ("--json", args.json))
    outputs: dict[Path, str] = {path: option for option, path in requested if path is not None}
    try:
        urls = {
            key: check_url(f"--{key.replace('_', '-')}", value) if value is not None else None
            for key, value in (
                ("base_url", args.base_url),
                ("frontend_url", args.frontend_url),
                ("backend_url", args.backend_url),
            )
        }
        config: SmokeConfig = load_config(args.config, expect_sha=args.expect_sha, **urls)
        if len({p.resolve() for p in outputs}) != len(outputs):
            raise ConfigError("--junit, --markdown, --json: expected different paths")
        for path, option in outputs.items():
            _check_output(option, path)
    except ConfigError as err:
        print(f"{_PROG}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT

    report = anyio.run(run_smoke, config)
    print(_summary(report))
    render = {"--junit": to_junit, "--markdown": to_markdown, "--json": to_json}
    try:
        write_files({path: render[option](report) for path, option in outputs.items()})
    except OSError as err:
        print(f"{_PROG}: error: cannot write the reports: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return report.exit_code
