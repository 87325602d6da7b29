"""The local Kubernetes cluster (cluster/cluster.sh) seen from the tests."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neosale_airgap.env import REPO_ROOT, apply_airgap_env

CLUSTER_SH = REPO_ROOT / "cluster" / "cluster.sh"
# What marks a host change as the cluster's: its chains, rule tag, bridges and ranges.
CLUSTER_MARKS = re.compile(r"KUBE-|neosale-cluster|nsk-node|nsk-pods|10\.244\.|10\.96\.|10\.250\.")
SYSCTLS = (
    "vm.overcommit_memory",
    "kernel.panic",
    "kernel.panic_on_oops",
    "net.ipv4.ip_forward",
    "net.ipv4.conf.all.route_localnet",
)


def cluster_env() -> dict[str, str]:
    """The air-gapped env plus cluster/env.sh's build prefix and run folder."""
    env = apply_airgap_env()
    script = f'. "{REPO_ROOT}/cluster/env.sh" && printf "%s\\n%s" "$NEOSALE_KUBE_PREFIX" "$NEOSALE_KUBE_RUN"'
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    prefix, run = out.split("\n")
    return {**env, "NEOSALE_KUBE_PREFIX": prefix, "NEOSALE_KUBE_RUN": run}


def cluster_sh(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CLUSTER_SH), *args], env=cluster_env(), capture_output=True, text=True)


@dataclass(frozen=True)
class Cluster:
    """A running cluster: kubectl with its admin kubeconfig."""

    kubeconfig: Path
    kubectl_bin: Path

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        res = subprocess.run(
            [str(self.kubectl_bin), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and res.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {res.returncode}: {res.stderr[-2000:]}")
        return res.stdout

    def apply(self, doc: str) -> None:
        self.kubectl("apply", "-f", "-", stdin=doc)

    def get(self, *args: str) -> Any:
        return json.loads(self.kubectl("get", *args, "-o", "json"))


def up() -> Cluster:
    res = cluster_sh("up")
    assert res.returncode == 0, f"cluster.sh up failed:\n{res.stderr[-4000:]}"
    env = cluster_env()
    run, prefix = Path(env["NEOSALE_KUBE_RUN"]), Path(env["NEOSALE_KUBE_PREFIX"])
    return Cluster(run / "admin.kubeconfig", prefix / "current" / "bin" / "kubectl")


def down() -> None:
    res = cluster_sh("down")
    assert res.returncode == 0, f"cluster.sh down failed:\n{res.stderr[-4000:]}"


def wait_until(what: str, check: Callable[[], bool], timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout}s")
        time.sleep(0.5)


def _lines(*argv: str) -> set[str]:
    res = subprocess.run(list(argv), capture_output=True, text=True)
    return set(res.stdout.splitlines())


def host_state() -> dict[str, set[str]]:
    """What the cluster may touch on the host, each as a set of lines."""
    state: dict[str, set[str]] = {
        "links": {line.split(":")[1].strip().split("@")[0] for line in _lines("ip", "-o", "link", "show")},
        "addresses": _lines("ip", "-o", "addr", "show"),
        "routes": _lines("ip", "route", "show"),
        "netns": _lines("ip", "netns", "list"),
        "mounts": {line.split()[4] for line in _lines("cat", "/proc/self/mountinfo")},
        "sysctls": {f"{k}={Path('/proc/sys', *k.split('.')).read_text().strip()}" for k in SYSCTLS},
        "cgroups": {str(p) for p in Path("/sys/fs/cgroup").glob("*/kubepods*")},
        "cni-state": {str(p) for p in Path("/var/lib/cni/networks").glob("*")},
        "processes": _lines("pgrep", "-a", "-f", cluster_env()["NEOSALE_KUBE_RUN"]),
    }
    for ipt in ("iptables", "ip6tables"):
        for table in ("filter", "nat", "mangle"):
            state[f"{ipt}-{table}"] = _lines(ipt, "-t", table, "-S")
    return state


def cluster_traces(before: dict[str, set[str]], after: dict[str, set[str]]) -> dict[str, list[str]]:
    """The cluster's marks left in `after` that `before` did not have, per kind."""
    traces: dict[str, list[str]] = {}
    for kind, lines in after.items():
        new = sorted(line for line in lines - before.get(kind, set()) if _is_clusters(kind, line))
        if new:
            traces[kind] = new
    return traces


def _is_clusters(kind: str, line: str) -> bool:
    if kind in ("sysctls", "cgroups", "processes", "cni-state"):
        return True
    if kind == "mounts":
        return "kube-run" in line or "k8s.io" in line
    return bool(CLUSTER_MARKS.search(line))
