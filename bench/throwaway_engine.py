"""What bench/pipeline.py and bench/module_load.py share: a throwaway Dagger
engine, a temporary clone of the checkout for it to work on, and the official
CLI that drives it.

The engine (BenchEngine, started and always torn down by `throwaway_engine`)
is a second airgap/engine.sh engine with its own empty state dir, socket,
network namespace and CNI network, so the shared engine and its cache are
untouched; engine.sh binds the builtin SDK content and sets its digests, so
module mode (`dagger call`, `dagger functions`) works on it. The clone
(`checkout`) is of HEAD, or with --worktree carries the checkout's
uncommitted changes and new files, and lives in a work dir under
$NEOSALE_CACHE (`workspace`). Not a script: imported by the benches, which
run from bench/ (their directory is first on sys.path).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from neosale_airgap.env import airgap_env

REPO_ROOT = Path(__file__).resolve().parents[1]
# Colours and cursor moves of the CLI's plain progress output.
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


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


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def exit_cleanly_on_signals() -> None:
    """SIGTERM and SIGHUP unwind like Ctrl-C does, so `finally` tears the engine down."""
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)


def require_root() -> None:
    if os.geteuid() != 0:
        sys.exit("run as root: the throwaway engine manages containers and networks")


def dagger_cli(env: Mapping[str, str]) -> Path:
    """The official CLI (airgap/install-dagger.sh), after checking module mode can work at all."""
    cli = Path(env["NEOSALE_PREFIX"]) / "bin" / "dagger"
    if not os.access(cli, os.X_OK):
        sys.exit(f"{cli} is missing: run scripts/setup.sh (airgap/install-dagger.sh) first")
    content = Path(env["NEOSALE_SDK_CONTENT"]) / "engine.env"
    if not content.is_file():
        sys.exit(f"{content} is missing: module mode needs airgap/sdk-content.sh (scripts/airgap-up.sh)")
    return cli


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
    """A second engine with its own state, socket, network namespace and CNI network.

    `env` is the client environment for it: airgap/env.sh's, with
    _EXPERIMENTAL_DAGGER_RUNNER_HOST at this engine's socket.
    """

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
        """Stop the engine, undo its network, delete its state; a second Ctrl-C does not cut it short."""
        log("stopping the throwaway engine, removing its network and state")
        # SIG_IGN is inherited by the commands below, so they finish too.
        held = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
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
            for sig, handler in held.items():
                signal.signal(sig, handler)

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


@contextmanager
def throwaway_engine(root: Path, registry: str) -> Iterator[BenchEngine]:
    """A started BenchEngine with its state under `root`; stopped and deleted on the way out,
    whatever the way (error, Ctrl-C, SIGTERM after exit_cleanly_on_signals)."""
    engine = BenchEngine(root, free_octet(os.getpid()), registry)
    try:
        engine.start()
        yield engine
    finally:
        engine.stop()


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
    """A clone of HEAD at `dest`; with `worktree`, carrying the checkout's uncommitted changes.

    Only git's files: no .env, no node_modules, no sdk/ (the module's runtime
    vendors the engine's SDK itself)."""
    run(["git", "clone", "--quiet", "--no-hardlinks", str(REPO_ROOT), str(dest)])
    if worktree:
        copy_worktree(dest)
        changed = run(["git", "-C", str(dest), "status", "--porcelain"]).stdout.splitlines()
        log(f"{dest.name}: HEAD + {len(changed)} uncommitted path(s) from the checkout")
    return dest


def write_dotenv(source: Path, env: Mapping[str, str]) -> None:
    """The clone's .env beside its dagger.json: the module's image arguments at the
    local stand-ins, from the clone's own `python -m neosale_airgap.standins dotenv`."""
    res = run(
        [sys.executable, "-m", "neosale_airgap.standins", "dotenv"],
        env={**env, "PYTHONPATH": str(source / "ci")},
        cwd=source,
    )
    if not any("=" in line and not line.startswith("#") for line in res.stdout.splitlines()):
        raise RuntimeError(f"{source}: `python -m neosale_airgap.standins dotenv` printed no setting")
    (source / ".env").write_text(res.stdout)


@contextmanager
def workspace(prefix: str, keep: bool) -> Iterator[Path]:
    """A work dir under $NEOSALE_CACHE, deleted afterwards unless `keep`."""
    cache = Path(airgap_env()["NEOSALE_CACHE"])
    cache.mkdir(parents=True, exist_ok=True)
    # Under the cache (same disk as the engine state), not a possible tmpfs /tmp.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=cache))
    try:
        yield path
    finally:
        if keep:
            log(f"kept {path}")
        else:
            run(["rm", "-rf", str(path)], check=False)
