#!/usr/bin/env python3
"""Pipeline times as ratios: cold, warm, one-line backend change, and a plain script.

In one run, on a temporary clone of HEAD (never the real checkout; with
--worktree the clone carries the checkout's uncommitted changes and new
files, see copy_worktree):

1. starts a second, throwaway Dagger engine (airgap/engine.sh with its own
   empty state dir, socket and CNI network, so the shared engine and its
   cache are untouched) that pulls the stand-ins from the same local registry;
2. runs `python -m neosale_ci pipeline --airgap` on it three times: cold
   (empty engine cache), warm (no change), and after a one-line change to a
   backend source file; the client code is the clone's own ci/, so edits
   made in the checkout while the bench runs do not enter the measurement;
3. stops that engine and deletes its state;
4. runs the baseline: the pipeline's own steps (up to publishing) as a plain
   sequential script on the host, see baseline(): secret scan, hadolint,
   squawk, `npm ci`, lint, tsc and unit tests for both apps, the backend
   integration tests against a PostgreSQL and Redis of its own, `docker
   build --no-cache` of both Dockerfiles (fresh cache-mount ids; the shared
   dockerd's cache is never pruned) and one Trivy scan per image plus its
   SARIF. Only the pipeline's publish to its embedded registry has no
   counterpart, so the cold ratio stays slightly conservative.

It prints per-stage seconds from each run's report.json, the Dagger
operations cached vs run (from the plain progress log), which frontend
stages did work after the backend change, and the ratios against the goals:
warm <= 0.05 x cold, change <= 0.35 x cold, cold <= 0.7 x baseline.

    .venv/bin/python bench/pipeline.py [--worktree] [--check] [--keep] [--skip-baseline] [--cold-only]

Needs root (the engine), the local registry (airgap/registry.sh start), the
image set, dockerd (scripts/dockerd.sh) and airgap/trivy/build.sh done.
A full run takes about 7 minutes on the 2-core project machine when it is
otherwise idle (cold pipeline about 2 min, warm seconds, change under 1 min,
baseline under 3 min, engine start and teardown 1); --cold-only with
--skip-baseline about 3. Cold runs vary by +-15 % between runs here, so
compare changes within one invocation or over several. The throwaway engine
needs a few GB of disk under $NEOSALE_CACHE while it runs. --keep leaves
the clones, progress logs and report.json files in
$NEOSALE_CACHE/bench-pipeline-*.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from neosale_airgap.env import airgap_env

REPO_ROOT = Path(__file__).resolve().parents[1]
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
# One progress line of the plain frontend: "DONE   Container.withExec [1.2s]".
PROGRESS_LINE = re.compile(r"^(CACHED|DONE|ERROR)\s+(\S+)")
# The migration check's squawk, as ci/neosale_ci/checks.py pins it.
SQUAWK = "squawk-cli==2.70.0"


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def run(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    out: Path | None = None,
    timeout: float = 3600,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run a command; with `out`, stdout and stderr go to that file instead of a pipe."""
    if out is None:
        res = subprocess.run(
            list(args), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    else:
        with out.open("a") as f:
            f.write(f"$ {' '.join(args)}\n")
            f.flush()
            res = subprocess.run(
                list(args), env=env, cwd=cwd, stdout=f, stderr=subprocess.STDOUT, text=True, timeout=timeout
            )
    if check and res.returncode != 0:
        tail = (res.stderr or "")[-3000:] if out is None else f"see {out}"
        raise RuntimeError(f"{' '.join(args[:4])} ... exited {res.returncode}: {tail}")
    return res


def last_line(args: Sequence[str], env: Mapping[str, str]) -> str:
    lines = run(args, env=env, timeout=3600).stdout.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{' '.join(args)} printed nothing")
    return lines[-1]


# --- the throwaway engine -------------------------------------------------
#
# A second engine cannot share the host's network namespace with the main
# one, whatever its --network-name: each engine starts a dnsmasq for its
# CNI network, and the main engine's binds 0.0.0.0:53, so the second one's
# exits and the engine fails ("dnsname ... pidfile: no such file"). So the
# bench engine runs in its own network namespace, joined to the host by a
# veth pair with NAT (the package registries), and reaches the local image
# registry, which listens on the host's 127.0.0.1 only, through a socat relay
# over a Unix socket that appears as 127.0.0.1:<port> inside the namespace.
# Its CNI network still gets its own name: the dnsname plugin keeps its files
# under /var/run/containers/cni/dnsname/<name> on the shared filesystem.


def free_octet(pid: int) -> int:
    """X such that nothing on the host routes or addresses 10.X.0.0/16."""
    taken = run(["ip", "-4", "route"]).stdout + run(["ip", "-4", "addr"]).stdout
    for i in range(40):
        octet = 200 + (pid + i) % 40
        if f"10.{octet}." not in taken and not Path(f"/run/netns/nsbench{octet}").exists():
            return octet
    raise RuntimeError("no free 10.X.0.0/16 between 10.200 and 10.239 for the bench engine")


def default_mtu() -> int:
    route = run(["ip", "-4", "route", "show", "default"]).stdout.split()
    if "dev" in route:
        return int(Path(f"/sys/class/net/{route[route.index('dev') + 1]}/mtu").read_text())
    return 1500


@dataclass
class BenchEngine:
    """A second engine with its own state, socket, network namespace and CNI network."""

    root: Path
    octet: int
    registry: str  # HOST:PORT the images come from, on the host's loopback
    env: dict[str, str] = field(default_factory=dict)
    relays: list[subprocess.Popen[bytes]] = field(default_factory=list)
    undo: list[list[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        state, run_dir = self.root / "state", self.root / "run"
        overrides = {
            "NEOSALE_ENGINE_STATE": str(state),
            "NEOSALE_ENGINE_RUN": str(run_dir),
            # Set explicitly: env.sh keeps an inherited value, which would be the shared engine.
            "_EXPERIMENTAL_DAGGER_RUNNER_HOST": f"unix://{run_dir}/engine.sock",
            "NEOSALE_ENGINE_ARGS": f"--network-name {self.name} --network-cidr 10.{self.octet}.0.0/20",
        }
        self.env = airgap_env({**os.environ, **overrides})
        self.env.update(overrides)

    @property
    def name(self) -> str:  # CNI network, netns; the bridge is name + "0" (<= 15 chars)
        return f"nsbench{self.octet}"

    def _do(self, args: list[str], undo: list[str] | None = None) -> None:
        run(args)
        if undo is not None:
            self.undo.append(undo)

    def _netns(self) -> None:
        ns, o = self.name, self.octet
        host_if, ns_if = f"nsbh{o}", f"nsbn{o}"
        host_ip, ns_ip = f"10.{o}.255.253", f"10.{o}.255.254"
        in_ns = ["ip", "netns", "exec", ns]
        self._do(["ip", "netns", "add", ns], ["ip", "netns", "delete", ns])
        mtu = str(default_mtu())
        self._do(
            ["ip", "link", "add", host_if, "mtu", mtu, "type", "veth", "peer", "name", ns_if, "mtu", mtu],
            ["ip", "link", "delete", host_if],
        )
        self._do(["ip", "link", "set", ns_if, "netns", ns])
        self._do(["ip", "addr", "add", f"{host_ip}/30", "dev", host_if])
        self._do(["ip", "link", "set", host_if, "up"])
        self._do([*in_ns, "ip", "addr", "add", f"{ns_ip}/30", "dev", ns_if])
        self._do([*in_ns, "ip", "link", "set", ns_if, "up"])
        self._do([*in_ns, "ip", "link", "set", "lo", "up"])
        self._do([*in_ns, "ip", "route", "add", "default", "via", host_ip])
        masq = ["POSTROUTING", "-s", f"{ns_ip}/32", "-m", "comment", "--comment", ns, "-j", "MASQUERADE"]
        self._do(["iptables", "-t", "nat", "-A", *masq], ["iptables", "-t", "nat", "-D", *masq])
        # The image registry: 127.0.0.1:PORT in the namespace -> Unix socket -> host's 127.0.0.1:PORT.
        host, _, port = self.registry.rpartition(":")
        sock = self.root / "registry.sock"
        self.relays.append(
            subprocess.Popen(["socat", f"UNIX-LISTEN:{sock},fork,unlink-early", f"TCP:{host}:{port}"])
        )
        listen = f"TCP-LISTEN:{port},bind={host},reuseaddr,fork"
        self.relays.append(
            subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", "socat", listen, f"UNIX-CONNECT:{sock}"])
        )

    def start(self) -> None:
        log(f"starting a throwaway engine: {self.root} (netns and CNI network {self.name})")
        self.root.mkdir(parents=True, exist_ok=True)
        self._netns()
        # nsenter, not `ip netns exec`: that remounts /sys and would hide the cgroup tree from runc.
        script = str(REPO_ROOT / "airgap" / "engine.sh")
        run(["nsenter", f"--net=/run/netns/{self.name}", "bash", script, "start"], env=self.env, timeout=300)

    def stop(self) -> None:
        log("stopping the throwaway engine, removing its network and state")
        try:
            run(["bash", str(REPO_ROOT / "airgap" / "engine.sh"), "stop"], env=self.env, timeout=120)
        finally:
            for proc in self.relays:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
            for args in reversed(self.undo):
                run(args, check=False)
            self._cleanup_dnsname()
            run(["rm", "-rf", str(self.root)], check=False)

    def _cleanup_dnsname(self) -> None:
        """The engine's dnsmasq dies with it; its files on the shared filesystem stay."""
        dns_dir = Path("/var/run/containers/cni/dnsname") / self.name
        pidfile = dns_dir / "pidfile"
        if pidfile.is_file():
            try:
                pid = int(pidfile.read_text().strip())
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                if "dnsmasq" in cmdline and str(dns_dir) in cmdline:
                    os.kill(pid, signal.SIGTERM)
            except (ValueError, OSError):
                pass
        shutil.rmtree(dns_dir, ignore_errors=True)
        shutil.rmtree(Path("/var/lib/cni/networks") / self.name, ignore_errors=True)


# --- the source measured ----------------------------------------------------


def copy_worktree(dest: Path) -> None:
    """Make the clone `dest` hold the checkout's files as they are now.

    Tracked files with their uncommitted edits, new files git does not ignore,
    and tracked files deleted in the checkout are deleted in `dest` too. HEAD
    stays the same commit, so the sha and the commit time (the images'
    labels) are those of HEAD. (`git stash create` would miss new files.)
    """
    listed = run(
        ["git", "-C", str(REPO_ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    ).stdout
    for rel in dict.fromkeys(filter(None, listed.split("\0"))):
        src, target = REPO_ROOT / rel, dest / rel
        if src.is_symlink() or src.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_symlink() or target.exists():
                target.unlink()
            shutil.copy2(src, target, follow_symlinks=False)
        elif not src.exists() and (target.is_symlink() or target.is_file()):
            target.unlink()


def checkout(dest: Path, worktree: bool) -> Path:
    """A clone of HEAD at `dest`; with `worktree`, carrying the checkout's uncommitted changes."""
    run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO_ROOT), str(dest)])
    if worktree:
        copy_worktree(dest)
        changed = run(["git", "-C", str(dest), "status", "--porcelain"]).stdout.splitlines()
        log(f"{dest.name}: HEAD + {len(changed)} uncommitted path(s) from the checkout")
    return dest


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
    for line in progress_log.read_text(errors="replace").splitlines():
        m = PROGRESS_LINE.match(line)
        if not m:
            continue
        state = "cached" if m.group(1) == "CACHED" else "run"
        counts[state] += 1
        if m.group(2).endswith("withExec"):
            counts[f"exec {state}"] += 1
    return counts


def run_pipeline(label: str, source: Path, work: Path, engine: BenchEngine) -> PipelineRun:
    reports, progress = work / f"reports-{label}", work / f"{label}.log"
    env = {
        **engine.env,
        # The clone's own client code: the HEAD being measured, not edits in progress.
        "PYTHONPATH": str(source / "ci"),
        "DAGGER_PROGRESS": "plain",
        # Negative "quiet" raises the plain frontend's verbosity: CACHED/DONE per API call.
        "DAGGER_QUIET": "-2",
    }
    cmd = [sys.executable, "-m", "neosale_ci", "pipeline", "--airgap", "--source", str(source)]
    cmd += ["--reports", str(reports)]
    log(f"pipeline ({label}) ... log: {progress}")
    start = time.monotonic()
    res = run(cmd, env=env, cwd=source, out=progress, timeout=5400, check=False)
    seconds = time.monotonic() - start
    report_json = reports / "report.json"
    stages: dict[str, float] = {}
    passed = res.returncode == 0
    if report_json.is_file():
        data = json.loads(report_json.read_text())
        stages = {s["name"]: float(s["seconds"]) for s in data["stages"] if s["status"] != "skipped"}
        passed = passed and bool(data["passed"])
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


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def workspace(keep: bool) -> Iterator[Path]:
    cache = Path(airgap_env()["NEOSALE_CACHE"])
    cache.mkdir(parents=True, exist_ok=True)
    # Under the cache (same disk as the engine state), not a possible tmpfs /tmp.
    path = Path(tempfile.mkdtemp(prefix="bench-pipeline-", dir=cache))
    try:
        yield path
    finally:
        if keep:
            log(f"kept {path}")
        else:
            run(["rm", "-rf", str(path)], check=False)


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
    signal.signal(signal.SIGTERM, _terminate)
    if os.geteuid() != 0:
        sys.exit("run as root: the throwaway engine manages containers and networks")
    started = time.monotonic()
    env = airgap_env()
    run(["bash", str(REPO_ROOT / "airgap" / "registry.sh"), "status"], env=env)
    trivy = last_line(["bash", str(REPO_ROOT / "airgap" / "trivy" / "build.sh")], env)
    trivy_cache = last_line(["bash", str(REPO_ROOT / "airgap" / "trivy" / "build.sh"), "db"], env)
    node_image = f"{env['NEOSALE_REGISTRY_ADDR']}/offline/node:22"
    runs: list[PipelineRun] = []
    base: dict[str, float] | None = None
    with workspace(opts.keep) as work:
        head = run(["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"]).stdout.strip()
        what = "HEAD plus the checkout's uncommitted changes" if opts.worktree else "HEAD"
        log(f"work dir {work}, measuring {what} ({head[:12]})")
        if not opts.skip_pipeline:
            source = checkout(work / "src", opts.worktree)
            engine = BenchEngine(work / "engine", free_octet(os.getpid()), env["NEOSALE_REGISTRY_ADDR"])
            try:
                engine.start()
                runs.append(run_pipeline("cold", source, work, engine))
                if not opts.cold_only:
                    runs.append(run_pipeline("warm", source, work, engine))
                    one_line_change(source)
                    runs.append(run_pipeline("change", source, work, engine))
            finally:
                engine.stop()
        if not opts.skip_baseline:
            source = checkout(work / "baseline-src", opts.worktree)
            base = baseline(source, work, node_image, trivy, trivy_cache, head)
    ok = report(runs, base, time.monotonic() - started)
    return 1 if opts.check and not ok else 0


if __name__ == "__main__":
    sys.exit(main())
