#!/usr/bin/env python3
"""Pipeline times as ratios: cold, warm, one-line backend change, and a plain script.

In one run, on a temporary clone of HEAD (never the real checkout; with
--worktree the clone carries the checkout's uncommitted changes and new
files, see copy_worktree in bench/throwaway_engine.py):

1. writes the clone's .env (the clone's `python -m neosale_airgap.standins
   dotenv`: the module's image arguments at the local stand-ins and the
   Trivy DB) and starts a second, throwaway Dagger engine (airgap/engine.sh
   with its own empty state dir, socket, network namespace and CNI network,
   so the shared engine and its cache are untouched; it gets the builtin SDK
   content and pulls the stand-ins from the same local registry);
2. runs scripts/pipeline.sh's call with the official CLI, in the clone, on
   that engine (_EXPERIMENTAL_DAGGER_RUNNER_HOST at its socket):
       $NEOSALE_PREFIX/bin/dagger --progress plain call run --sha SHA
           --created CREATED --end-to-end reports export --path DIR
   three times: cold (empty engine cache, module load included), warm (no
   change), and after a one-line change to a backend source file. The
   module is the clone's (its dagger.json, pyproject.toml, uv.lock, ci/), so
   edits made in the checkout while the bench runs do not enter the
   measurement;
3. stops that engine and deletes its state (also on an error, Ctrl-C or
   SIGTERM);
4. runs the baseline: the pipeline's own steps (up to publishing) as a plain
   sequential script on the host, see baseline(): secret scan, hadolint
   (.venv/bin/hadolint, from requirements-dev.lock), squawk, `npm ci`, lint,
   tsc and unit tests for both apps, the backend integration tests against a
   PostgreSQL and Redis of its own, `docker build --no-cache` of both
   Dockerfiles (fresh cache-mount ids; the shared dockerd's cache is never
   pruned) and one Trivy scan per image plus its SARIF. The pipeline's
   module load, publish to its embedded registry and E2E stage (ephemeral
   stack and Playwright) have no counterpart, so the cold ratio is
   conservative.

It prints per-stage seconds from each run's exported report.json, the Dagger
API calls cached vs run (from the CLI's plain progress output), which
frontend stages did work after the backend change, and the ratios against
the goals: warm <= 0.05 x cold, change <= 0.35 x cold, cold <= 0.7 x
baseline. A run whose report says it failed (or that exported none) counts
as FAILED; its wall time is still printed.

    .venv/bin/python bench/pipeline.py [--worktree] [--check] [--keep] [--skip-baseline] [--cold-only]

Needs root (the engine), scripts/setup.sh (.venv with hadolint, npm
dependencies, the official CLI) and scripts/airgap-up.sh (local registry
with the image set, Trivy DB, builtin SDK content) done, the package
registries (the module runtime's `uv sync`), and for the baseline dockerd
(the bench starts it with scripts/dockerd.sh) and the Trivy binary (built by
airgap/trivy/build.sh when missing). The throwaway engine needs a few GB of
disk under $NEOSALE_CACHE while it runs. A full run took 13.3 min on
2026-11-30 with the 2-core machine otherwise idle (cold 323 s, warm 68 s,
change 125 s, baseline 214 s); timings here are noisy, so compare changes
within one invocation or over several. --keep leaves the clones, progress logs and
exported reports in $NEOSALE_CACHE/bench-pipeline-*.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
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
    write_dotenv,
)

DOCKER = os.environ.get("NEOSALE_DOCKER", "/usr/bin/docker")
APPS = ("backend", "frontend")
GOALS = {"warm / cold": 0.05, "change / cold": 0.35, "cold / baseline": 0.7}
# The file the one-line change goes to, and the line appended.
CHANGED_FILE = "backend/src/config.ts"
CHANGE_LINE = "// bench/pipeline.py: a one-line backend change\n"
# A frontend stage "did work" after the backend change when it took this
# much longer than in the warm run (seconds, and as a factor).
RERUN_SLACK_S = 2.0
RERUN_FACTOR = 2.0
# One progress line of the CLI's plain output, colours stripped:
# "42  : ┆ ┆ Container.withExec DONE [1.2s]" (its span id, its depth in ┆).
PROGRESS_LINE = re.compile(r"^\d+\s*: (?:┆ )*(?P<name>\S.*?) (?P<state>CACHED|DONE|ERROR)(?: \[[^\]]*\])?$")
# Of those, the API calls ("Container.withExec", "directory", "neosale"), not the
# CLI's own steps ("connect", "load workspace: .") or the engine's ("resolving IMAGE").
API_CALL = re.compile(r"^(?!connect$)[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?$")
# The migration check's squawk, as ci/neosale_ci/checks.py pins it.
SQUAWK = "squawk-cli==2.70.0"


def last_line(args: Sequence[str], env: Mapping[str, str]) -> str:
    lines = run(args, env=env, timeout=3600).stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{' '.join(args)} printed nothing")
    return lines[-1]


# --- pipeline runs --------------------------------------------------------


@dataclass
class PipelineRun:
    label: str
    seconds: float
    passed: bool
    stages: dict[str, float]
    ops: dict[str, int]


def count_ops(progress_log: Path) -> dict[str, int]:
    """Dagger API calls the plain progress log shows as cached or run, in total and for withExec."""
    counts = {"cached": 0, "run": 0, "exec cached": 0, "exec run": 0}
    for line in strip_ansi(progress_log.read_text(errors="replace")).splitlines():
        m = PROGRESS_LINE.match(line)
        if not m or not API_CALL.match(m["name"]):
            continue
        state = "cached" if m["state"] == "CACHED" else "run"
        counts[state] += 1
        if m["name"].endswith(".withExec"):
            counts[f"exec {state}"] += 1
    return counts


def commit(source: Path) -> tuple[str, str]:
    """HEAD's sha and commit time, as scripts/pipeline.sh and the ci workflow pass them."""
    sha = run(["git", "-C", str(source), "rev-parse", "HEAD"]).stdout.strip()
    fmt = ["--format=%cd", "--date=format-local:%Y-%m-%dT%H:%M:%SZ"]
    created = run(["git", "-C", str(source), "log", "-1", *fmt, "HEAD"], env={**os.environ, "TZ": "UTC0"})
    return sha, created.stdout.strip()


def run_pipeline(label: str, cli: Path, source: Path, work: Path, engine: BenchEngine) -> PipelineRun:
    """scripts/pipeline.sh's `dagger call` in the clone, on the throwaway engine."""
    reports, progress = work / f"reports-{label}", work / f"{label}.log"
    sha, created = commit(source)
    cmd = [str(cli), "--progress", "plain", "call", "run", "--sha", sha, "--created", created]
    cmd += ["--end-to-end", "reports", "export", "--path", str(reports)]
    log(f"pipeline ({label}) ... log: {progress}")
    start = time.monotonic()
    res = run(cmd, env=engine.env, cwd=source, out=progress, timeout=5400, check=False)
    seconds = time.monotonic() - start
    report_json = reports / "report.json"
    stages: dict[str, float] = {}
    passed = res.returncode == 0
    if report_json.is_file():
        data = json.loads(report_json.read_text())
        stages = {s["name"]: float(s["seconds"]) for s in data["stages"] if s["status"] != "skipped"}
        passed = passed and bool(data["passed"])
    else:
        passed = False
    if not passed:
        log(f"pipeline ({label}) did not pass (exit {res.returncode}); see {progress}")
    log(f"pipeline ({label}): {seconds:.1f}s")
    return PipelineRun(label, seconds, passed, stages, count_ops(progress))


def one_line_change(source: Path) -> None:
    path = source / CHANGED_FILE
    text = path.read_text()
    path.write_text(text if text.endswith("\n") else text + "\n")
    with path.open("a") as f:
        f.write(CHANGE_LINE)


# --- the plain-script baseline ---------------------------------------------


def free_port(preferred: int) -> int:
    """`preferred` when nothing listens there, else a free port the kernel picks."""
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise RuntimeError("no free TCP port on 127.0.0.1")


def cold_dockerfile(source: Path, app: str, tag: str) -> str:
    """Dockerfile.<app> with its BuildKit cache mounts renamed to ids no build used yet.

    `--no-cache` rebuilds every layer but keeps cache mounts, and the shared
    dockerd's `neosale-npm` mount is warm from other builds; fresh ids make
    `npm ci` in the build as cold as in the throwaway engine, without pruning
    anyone else's cache. Nothing else in the file changes.
    """
    text = (source / f"Dockerfile.{app}").read_text()
    name = f"Dockerfile.{app}.bench"
    (source / name).write_text(re.sub(r"\bid=(neosale-[a-z-]+)", rf"id=\1-{tag}", text))
    return name


def baseline(
    source: Path, work: Path, node_image: str, trivy: str, trivy_cache: str, sha: str
) -> dict[str, float]:
    """The pipeline's steps as a sequential host script; returns seconds per step.

    Every stage the pipeline runs before publishing, in the same tools and
    versions where the host has them: secret scan, hadolint, squawk, npm ci +
    lint + tsc + unit tests for both apps, the backend integration tests
    against a PostgreSQL and a Redis of their own (started in the step, as the
    pipeline starts its services), `docker build` of both images, and one
    Trivy scan per image with its SARIF converted from the JSON. Caches start
    empty: npm and pip caches in the work dir, `docker build --no-cache` with
    fresh cache-mount ids (cold_dockerfile), no `docker builder prune`.
    """
    out = work / "baseline.log"
    npm_cache, pip_cache = work / "npm-cache", work / "pip-cache"
    npm_cache.mkdir()
    pip_cache.mkdir()
    env = {
        **os.environ,
        "npm_config_cache": str(npm_cache),
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
        "PIP_CACHE_DIR": str(pip_cache),
        "CI": "true",
        "NEXT_TELEMETRY_DISABLED": "1",
        "DOCKER_BUILDKIT": "1",
    }
    run([str(REPO_ROOT / "scripts" / "dockerd.sh"), "start"], timeout=120)
    ca = os.environ.get("NEOSALE_BUILD_CA", "/etc/ssl/certs/ca-certificates.crt")
    hadolint = REPO_ROOT / ".venv" / "bin" / "hadolint"
    trivy_offline = ["--skip-version-check", "--disable-telemetry", "--quiet"]
    squawk_venv = work / "squawk-venv"
    migrations = source / "backend" / "prisma" / "migrations"
    migration_files = sorted(
        str(d.relative_to(migrations) / "migration.sql") for d in migrations.iterdir() if d.name[:1].isdigit()
    )
    # The integration tests' own PostgreSQL and Redis: never the shared ones on the default ports.
    # Under /tmp, not the work dir: PostgreSQL runs as the postgres user, who
    # cannot enter root's home (where $NEOSALE_CACHE usually is).
    services_dir = Path(tempfile.mkdtemp(prefix="neosale-bench-services-"))
    services_dir.chmod(0o755)
    services = {
        **env,
        "NEOSALE_SERVICES_DIR": str(services_dir),
        "PGPORT": str(free_port(55532)),
        "REDIS_PORT": str(free_port(56479)),
    }
    test_services = str(REPO_ROOT / "scripts" / "test-services.sh")
    integration_env = {
        **env,
        "DATABASE_URL": f"postgresql://neosale:neosale@127.0.0.1:{services['PGPORT']}/neosale",
        "REDIS_URL": f"redis://127.0.0.1:{services['REDIS_PORT']}",
    }

    secret_args = [
        "--skip-dirs",
        ".git",
        "--scanners",
        "secret",
        "--exit-code",
        "1",
        "--format",
        "table",
        ".",
    ]
    Step = tuple[str, list[str], Path, Mapping[str, str], tuple[int, ...]]
    steps: list[Step] = [
        # First, on the clean copy: the pipeline scans the source without node_modules.
        (
            "secret scan",
            [trivy, "fs", *trivy_offline, "--cache-dir", str(work / "trivy-fs-cache"), *secret_args],
            source,
            env,
            (0,),
        ),
        (
            "dockerfile lint",
            [str(hadolint), "--no-color", *(f"Dockerfile.{app}" for app in APPS)],
            source,
            env,
            (0,),
        ),
        ("squawk venv", [sys.executable, "-m", "venv", str(squawk_venv)], source, env, (0,)),
        (
            "squawk install",
            [str(squawk_venv / "bin" / "pip"), "install", "--quiet", "--disable-pip-version-check", SQUAWK],
            source,
            env,
            (0,),
        ),
        (
            "migration safety",
            [
                str(squawk_venv / "bin" / "squawk"),
                "--reporter",
                "json",
                "--pg-version",
                "15",
                *migration_files,
            ],
            migrations,
            env,
            (0, 1),  # 1 = findings, which the pipeline then judges
        ),
    ]
    for app in APPS:
        app_dir = source / app
        steps += [
            (
                f"npm ci ({app})",
                ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                app_dir,
                env,
                (0,),
            ),
            (f"lint ({app})", ["npm", "run", "--silent", "lint"], app_dir, env, (0,)),
            (f"typecheck ({app})", ["npm", "run", "--silent", "typecheck"], app_dir, env, (0,)),
            (f"unit tests ({app})", ["npm", "run", "--silent", "test"], app_dir, env, (0,)),
        ]
    steps += [
        ("test services start", ["bash", test_services, "start"], services_dir, services, (0,)),
        (
            "integration tests (backend)",
            ["npm", "run", "--silent", "test:integration"],
            source / "backend",
            integration_env,
            (0,),
        ),
    ]
    tag = f"{os.getpid()}-{int(time.time())}"
    for app in APPS:
        build = [DOCKER, "build", "--no-cache", "--progress=plain", "-f", cold_dockerfile(source, app, tag)]
        build += ["-t", f"neosale-bench/{app}:baseline", "--build-arg", f"NODE_IMAGE={node_image}"]
        build += ["--build-arg", f"GIT_SHA={sha}", "--build-arg", "BUILD_TIME=2000-01-01T00:00:00Z"]
        # As the pipeline: the script type-checked both apps above, so the builds only compile.
        build += ["--build-arg", "TYPECHECKED=1"]
        if Path(ca).is_file():
            build += ["--secret", f"id=ca,src={ca}"]
        steps.append((f"docker build ({app})", [*build, "."], source, env, (0,)))
    for app in APPS:
        tar, report_json = work / f"{app}.tar", work / f"trivy-{app}.json"
        image = f"neosale-bench/{app}:baseline"
        steps.append((f"docker save ({app})", [DOCKER, "save", "-o", str(tar), image], source, env, (0,)))
        scan = [trivy, "image", "--input", str(tar), "--format", "json", "--scanners", "vuln"]
        scan += ["--cache-dir", trivy_cache, "--skip-db-update", "--skip-java-db-update"]
        scan += ["--skip-check-update", *trivy_offline, "--output", str(report_json)]
        steps.append((f"trivy scan ({app})", scan, source, env, (0,)))
        convert = [
            trivy,
            "convert",
            "--quiet",
            "--format",
            "sarif",
            "--output",
            str(work / f"trivy-{app}.sarif"),
        ]
        steps.append((f"trivy sarif ({app})", [*convert, str(report_json)], source, env, (0,)))
    times: dict[str, float] = {}
    try:
        for name, cmd, cwd, step_env, ok_codes in steps:
            log(f"baseline: {name}")
            start = time.monotonic()
            res = run(cmd, env=step_env, cwd=cwd, out=out, timeout=3600, check=False)
            times[name] = time.monotonic() - start
            if res.returncode not in ok_codes:
                raise RuntimeError(f"baseline step {name!r} exited {res.returncode}: see {out}")
    finally:
        run(["bash", test_services, "stop"], env=services, cwd=services_dir, check=False)
        shutil.rmtree(services_dir, ignore_errors=True)
        for app in APPS:
            run([DOCKER, "image", "rm", f"neosale-bench/{app}:baseline"], check=False)
    return times


# --- output ----------------------------------------------------------------


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )


def frontend_reruns(warm: PipelineRun, change: PipelineRun) -> list[str]:
    out = []
    for name, secs in change.stages.items():
        if "frontend" not in name:
            continue
        before = warm.stages.get(name, 0.0)
        if secs > before * RERUN_FACTOR + RERUN_SLACK_S:
            out.append(f"{name} ({before:.1f}s warm -> {secs:.1f}s)")
    return out


def report(runs: list[PipelineRun], base: dict[str, float] | None, total: float) -> bool:
    by = {r.label: r for r in runs}
    print()
    print("pipeline stages, seconds (from each run's report.json):")
    names = list(dict.fromkeys(n for r in runs for n in r.stages))
    table(
        ["stage", *by], [[n, *(f"{r.stages[n]:.1f}" if n in r.stages else "-" for r in runs)] for n in names]
    )
    print()
    print("Dagger API calls, cached / run (plain progress log):")
    rows = [[k, *(str(r.ops[k]) for r in runs)] for k in ("cached", "run", "exec cached", "exec run")]
    table(["calls", *by], rows)
    if base is not None:
        print()
        print("baseline (sequential host script), seconds:")
        table(["step", "s"], [[k, f"{v:.1f}"] for k, v in base.items()])
    print()
    totals = [[r.label, f"{r.seconds:.1f}", "passed" if r.passed else "FAILED"] for r in runs]
    if base is not None:
        totals.append(["baseline", f"{sum(base.values()):.1f}", ""])
    table(["run", "wall s", "result"], totals)
    print()
    ok = all(r.passed for r in runs)
    ratios: dict[str, float] = {}
    if "cold" in by:
        cold = by["cold"].seconds
        if "warm" in by:
            ratios["warm / cold"] = by["warm"].seconds / cold
        if "change" in by:
            ratios["change / cold"] = by["change"].seconds / cold
        if base is not None:
            ratios["cold / baseline"] = cold / sum(base.values())
    rows = []
    for name, value in ratios.items():
        met = value <= GOALS[name]
        ok = ok and met
        rows.append([name, f"{value:.3f}", f"<= {GOALS[name]}", "met" if met else "NOT met"])
    table(["ratio", "value", "goal", ""], rows)
    if "warm" in by and "change" in by:
        reran = frontend_reruns(by["warm"], by["change"])
        print()
        if reran:
            ok = False
            print("frontend stages that did work after the backend change: " + "; ".join(reran))
        else:
            print(f"no frontend stage did work after the backend change (edit: {CHANGED_FILE})")
    print(f"\nbench total: {total / 60:.1f} min")
    return ok


# --- main ------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is not met")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (clones, logs, reports)")
    parser.add_argument("--skip-baseline", action="store_true", help="only the three pipeline runs")
    parser.add_argument("--skip-pipeline", action="store_true", help="only the baseline")
    parser.add_argument(
        "--cold-only",
        action="store_true",
        help="of the pipeline runs, only the cold one (no warm, no change)",
    )
    parser.add_argument(
        "--worktree",
        action="store_true",
        help="measure the checkout as it is, uncommitted changes and new files included (default: HEAD)",
    )
    opts = parser.parse_args()
    exit_cleanly_on_signals()
    require_root()
    started = time.monotonic()
    env = airgap_env()
    cli = dagger_cli(env)
    run(["bash", str(REPO_ROOT / "airgap" / "registry.sh"), "status"], env=env)
    # The DB: the run's Trivy gate (the .env's RUN_TRIVYDB) and the baseline's scans.
    trivy_cache = last_line(["bash", str(REPO_ROOT / "airgap" / "trivy" / "build.sh"), "db"], env)
    node_image = f"{env['NEOSALE_REGISTRY_ADDR']}/offline/node:22"
    runs: list[PipelineRun] = []
    base: dict[str, float] | None = None
    with workspace("bench-pipeline-", opts.keep) as work:
        head = run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"]).stdout.strip()
        what = "HEAD plus the checkout's uncommitted changes" if opts.worktree else "HEAD"
        log(f"work dir {work}, measuring {what} ({head[:12]})")
        if not opts.skip_pipeline:
            source = checkout(work / "src", opts.worktree)
            write_dotenv(source, env)
            with throwaway_engine(work / "engine", env["NEOSALE_REGISTRY_ADDR"]) as engine:
                runs.append(run_pipeline("cold", cli, source, work, engine))
                if not opts.cold_only:
                    runs.append(run_pipeline("warm", cli, source, work, engine))
                    one_line_change(source)
                    runs.append(run_pipeline("change", cli, source, work, engine))
        if not opts.skip_baseline:
            trivy = last_line(["bash", str(REPO_ROOT / "airgap" / "trivy" / "build.sh")], env)
            source = checkout(work / "baseline-src", opts.worktree)
            base = baseline(source, work, node_image, trivy, trivy_cache, head)
    ok = report(runs, base, time.monotonic() - started)
    return 1 if opts.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
