#!/usr/bin/env python3
"""Blue-green figures from one run of the deployer against the local Docker Engine.

Uses the deploy tests' app images, throwaway target and load generator
(tests/deploy/helpers.py): a fresh project is deployed at v1, then

- v1 -> v2 under a steady loopback load: the deploy's `switch` phase (from the
  ledger) and the failed requests during the whole deploy;
- manual rollback under the same load: time from starting `rollback` to the
  last request answered by v2 (all traffic on v1 from then on), the rollback's
  own `switch` phase, and the failed requests.

The project is removed afterwards. Needs dockerd (scripts/dockerd.sh start)
and the local registry at 127.0.0.1:5000, as the deploy tests do.

    .venv/bin/python bench/deploy.py [--rate 250] [--requests 6000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import docker  # type: ignore[import-untyped]  # noqa: E402

from tests.deploy.helpers import (  # noqa: E402
    Env,
    LoadGen,
    build_app_images,
    cleanup,
    ensure_dockerd,
    live_versions,
    new_env,
)


@dataclass(frozen=True)
class Cutover:
    """One command run under load."""

    what: str
    seconds: float  # the command, start to exit
    switch_s: float  # its ledger's switch phase
    requests: int
    failed: int
    rps: float
    # Command start -> last request answered by the old version (None: no request did).
    old_gone_s: float | None


def last_record(env: Env) -> dict[str, Any]:
    out = env.cli("history", "--json", "--limit", "1")
    if out.returncode != 0:
        sys.exit(f"history failed: {out.stderr}")
    rec: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return rec


def under_load(env: Env, what: str, old: str, args: list[str], requests: int, rate: float) -> Cutover:
    load = LoadGen(env.live_url, total=requests, rate=rate).start()
    time.sleep(1.5)  # steady state before the command
    t0 = time.monotonic()
    out = env.cli(*args)
    seconds = time.monotonic() - t0
    load.wait()
    if out.returncode != 0:
        sys.exit(f"{what} failed ({out.returncode}):\n{out.stdout}{out.stderr}")
    rec = last_record(env)
    switch = next((p for p in rec["phases"] if p["name"] == "switch"), None)
    if switch is None:
        sys.exit(f"{what}: no switch phase in the ledger: {rec}")
    last_old = load.last_start_of(old)
    return Cutover(
        what=what,
        seconds=seconds,
        switch_s=float(switch["seconds"]),
        requests=len(load.samples),
        failed=len(load.failures()),
        rps=load.rps(),
        old_gone_s=None if last_old is None else max(0.0, last_old - t0),
    )


def report(rows: list[Cutover]) -> None:
    head = ("command", "switch", "old gone", "requests", "req/s", "failed")
    print(f"{'cutover':16} " + " ".join(f"{h:>9}" for h in head))
    for r in rows:
        gone = "-" if r.old_gone_s is None else f"{r.old_gone_s:.2f}s"
        print(
            f"{r.what:16} {r.seconds:8.2f}s {r.switch_s:8.3f}s {gone:>9} {r.requests:9d} "
            f"{r.rps:9.0f} {r.failed:9d}"
        )
    print(
        "switch: the ledger's switch phase (router conf written and nginx reloaded); "
        "old gone: command start -> last request answered by the old version"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=250.0, help="load, requests per second")
    ap.add_argument("--requests", type=int, default=6000, help="requests during the v1 -> v2 deploy")
    ap.add_argument("--rollback-requests", type=int, default=1500)
    args = ap.parse_args(argv)

    ensure_dockerd()
    client = docker.from_env(timeout=120)
    t0 = time.monotonic()
    images = build_app_images(client)
    print(f"test images ready in {time.monotonic() - t0:.1f}s")
    with tempfile.TemporaryDirectory(prefix="bench-deploy-") as tmp:
        env = new_env(Path(tmp), images)
        try:
            out = env.deploy("v1")
            if out.returncode != 0:
                sys.exit(f"initial deploy of v1 failed:\n{out.stdout}{out.stderr}")
            assert live_versions(env.live_url) == {"v1"}
            ref = images["v2"]
            deploy = under_load(
                env, "deploy v1->v2", "v1", ["deploy", "--backend", ref, "--frontend", ref],
                args.requests, args.rate,
            )  # fmt: skip
            rollback = under_load(
                env, "rollback v2->v1", "v2", ["rollback"], args.rollback_requests, args.rate
            )
            print(
                f"project {env.project}, load {args.rate:.0f} req/s on {env.live_url} (new connection each)"
            )
            report([deploy, rollback])
        finally:
            cleanup(client, env.project)
            client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
