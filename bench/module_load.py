#!/usr/bin/env python3
"""Module load time of the official CLI, cold and warm, in one run.

On a temporary clone of HEAD (with --worktree, carrying the checkout's
uncommitted changes and new files):

1. starts a throwaway Dagger engine with an empty state dir (its own socket,
   network namespace and CNI network; bench/throwaway_engine.py), so the
   shared engine and its cache are untouched;
2. runs `$NEOSALE_PREFIX/bin/dagger --progress plain functions` in the clone
   twice: cold (empty engine cache: the Python SDK runtime, `uv sync` of the
   module, codegen, the type definitions) and warm (right after, nothing
   changed);
3. stops that engine and deletes its state, also on an error, Ctrl-C or
   SIGTERM.

It prints the wall time of each `dagger functions` (what a user waits for,
client start included) and the CLI's own "load workspace" span, the warm /
cold ratio, and both against the goals: cold <= 40 s, warm <= 3 s (judged on
the wall time). With --check it exits 1 when a goal is not met; it exits 1
whenever a load fails, after printing the CLI's error lines.

    .venv/bin/python bench/module_load.py [--worktree] [--check] [--keep]

Needs root (the engine), the official CLI and the engine's builtin SDK
content (scripts/setup.sh, then airgap/sdk-content.sh or
scripts/airgap-up.sh), and the package registries (the runtime's `uv sync`
downloads the module's locked dependencies through the engine's NAT). The
clone, engine start and teardown add about 40 s. On 2026-11-30, the 2-core
machine otherwise idle: cold 65.0 s, warm 5.8 s; runs vary with the
machine's load, so compare within one invocation or over several. --keep
leaves the clone and both progress logs in $NEOSALE_CACHE/bench-module-load-*.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from neosale_airgap.env import airgap_env

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench.throwaway_engine import (  # noqa: E402
    BenchEngine,
    checkout,
    dagger_cli,
    exit_cleanly_on_signals,
    log,
    require_root,
    run,
    strip_ansi,
    throwaway_engine,
    workspace,
)

GOALS = {"cold": 40.0, "warm": 3.0}  # seconds, wall time of `dagger functions`
# The CLI's span for loading the module, colours stripped: "5   : load workspace: . DONE [10.2s]".
LOAD_SPAN = re.compile(r"^\d+\s*: load workspace: \S+ (?:DONE|CACHED) \[(?P<duration>[^\]]+)\]$")
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|µs|us|h|m|s)")
UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6}
# What the CLI prints when something failed: its spans' errors and its final message.
ERROR_LINE = re.compile(r"(?: ERROR(?: \[|$)|^\d+\s*: (?:┆ )*! |^Error: )")


@dataclass
class Load:
    label: str
    seconds: float  # wall time of the CLI
    span: float | None  # its "load workspace" span, when it printed one
    passed: bool
    errors: list[str]


def duration(text: str) -> float:
    """Seconds of the CLI's duration ("10.2s", "1m2.3s", "512ms")."""
    return sum(float(n) * UNIT_S[unit] for n, unit in DURATION_PART.findall(text))


def load_module(label: str, cli: Path, source: Path, work: Path, engine: BenchEngine) -> Load:
    progress = work / f"{label}.log"
    log(f"dagger functions ({label}) ... log: {progress}")
    start = time.monotonic()
    res = run(
        [str(cli), "--progress", "plain", "functions"],
        env=engine.env,
        cwd=source,
        out=progress,
        timeout=1800,
        check=False,
    )
    seconds = time.monotonic() - start
    lines = strip_ansi(progress.read_text(errors="replace")).splitlines()
    spans = [m["duration"] for m in map(LOAD_SPAN.match, lines) if m]
    # The listing itself: the main object's `run`, on a line of its own.
    listed = any(re.match(r"^run\s{2,}\S", line) for line in lines)
    passed = res.returncode == 0 and listed
    errors = [line for line in lines if ERROR_LINE.search(line)]
    if not passed:
        log(f"dagger functions ({label}) failed (exit {res.returncode}, run listed: {listed}): {progress}")
    log(f"dagger functions ({label}): {seconds:.1f}s")
    return Load(label, seconds, duration(spans[-1]) if spans else None, passed, errors)


def report(loads: list[Load], version: str) -> bool:
    print()
    print(f"module load, `dagger functions` with the official CLI {version}, seconds:")
    print(f"{'run':<6}{'wall s':>8}{'load workspace s':>18}  result")
    for load in loads:
        span = f"{load.span:.1f}" if load.span is not None else "-"
        print(f"{load.label:<6}{load.seconds:>8.1f}{span:>18}  {'passed' if load.passed else 'FAILED'}")
    ok = all(load.passed for load in loads)
    for load in loads:
        if not load.passed:
            print(f"\n{load.label}: the CLI's error lines:")
            print("\n".join(f"  {line}" for line in load.errors[-20:]) or "  (none; see the log)")
    by = {load.label: load for load in loads}
    print()
    if "cold" in by and "warm" in by:
        print(f"warm / cold: {by['warm'].seconds / by['cold'].seconds:.3f}")
    for label, goal in GOALS.items():
        if label not in by:
            print(f"{label} <= {goal:.0f} s: not measured")
            ok = False
            continue
        met = by[label].passed and by[label].seconds <= goal
        ok = ok and met
        print(f"{label} <= {goal:.0f} s: {by[label].seconds:.1f} s, {'met' if met else 'NOT met'}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is not met")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (clone, progress logs)")
    parser.add_argument(
        "--worktree",
        action="store_true",
        help="measure the checkout as it is, uncommitted changes and new files included (default: HEAD)",
    )
    opts = parser.parse_args()
    exit_cleanly_on_signals()
    require_root()
    env = airgap_env()
    cli = dagger_cli(env)
    loads: list[Load] = []
    with workspace("bench-module-load-", opts.keep) as work:
        head = run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"]).stdout.strip()
        what = "HEAD plus the checkout's uncommitted changes" if opts.worktree else "HEAD"
        log(f"work dir {work}, measuring {what} ({head[:12]})")
        source = checkout(work / "src", opts.worktree)
        with throwaway_engine(work / "engine", env["NEOSALE_REGISTRY_ADDR"]) as engine:
            loads.append(load_module("cold", cli, source, work, engine))
            if loads[-1].passed:
                loads.append(load_module("warm", cli, source, work, engine))
    ok = report(loads, env["DAGGER_VERSION"])
    if not all(load.passed for load in loads):
        return 1
    return 1 if opts.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
