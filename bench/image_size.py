#!/usr/bin/env python3
"""Size of each app image as a ratio to a naive single-stage build of the same app.

Builds, in one run and from the same base image, Dockerfile.<app> at the
repository root and bench/Dockerfile.<app>.naive, then prints both sizes (as
`docker image inspect` reports them: base layers included) and their ratio.
The goal is a ratio of at most 0.35. The share over the base image (app
layers only) is printed too, since a large base caps the full-size ratio.

    .venv/bin/python bench/image_size.py [--node-image IMG] [--check]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
DOCKER = os.environ.get("NEOSALE_DOCKER", "/usr/bin/docker")
APPS = ("frontend", "backend")
GOAL = 0.35
WIDTHS = (9, 9, 6, 17, 8, 8)


def docker(*args: str, timeout: float = 2400) -> str:
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    res = subprocess.run([DOCKER, *args], capture_output=True, text=True, timeout=timeout, env=env)
    if res.returncode != 0:
        sys.exit(f"docker {' '.join(args[:4])} ... failed ({res.returncode}):\n{res.stderr[-3000:]}")
    return res.stdout


def image_size(ref: str) -> int:
    return int(docker("image", "inspect", "-f", "{{.Size}}", ref).strip())


def build(dockerfile: Path, tag: str, node_image: str, ca: str | None) -> float:
    args = [
        "build",
        "--progress=plain",
        "-f",
        str(dockerfile),
        "-t",
        tag,
        "--build-arg",
        f"NODE_IMAGE={node_image}",
    ]
    if ca:
        args += ["--secret", f"id=ca,src={ca}"]
    start = time.monotonic()
    docker(*args, str(REPO_ROOT))
    return time.monotonic() - start


def ensure_base(node_image: str) -> None:
    probe = subprocess.run([DOCKER, "image", "inspect", node_image], capture_output=True, check=False)
    if probe.returncode != 0:
        docker("pull", node_image, timeout=900)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--node-image", default=os.environ.get("NEOSALE_NODE_IMAGE", "127.0.0.1:5000/offline/node:22")
    )
    default_ca = os.environ.get("NEOSALE_BUILD_CA", "/etc/ssl/certs/ca-certificates.crt")
    parser.add_argument(
        "--ca",
        default=default_ca if Path(default_ca).is_file() else None,
        help="PEM bundle passed to npm as the `ca` build secret",
    )
    parser.add_argument("--goal", type=float, default=GOAL)
    parser.add_argument("--check", action="store_true", help="exit 1 when a ratio is above the goal")
    opts = parser.parse_args()

    subprocess.run([str(REPO_ROOT / "scripts" / "dockerd.sh"), "start"], check=True)
    ensure_base(opts.node_image)
    base = image_size(opts.node_image)
    print(f"base {opts.node_image}: {base / 1e6:.0f} MB")
    header = ("app", "image MB", "naive MB", "ratio", "app-layers ratio", "build s", "naive s")
    print(f"{header[0]:<9}", *(f"{h:>{w}}" for h, w in zip(header[1:], WIDTHS, strict=True)))
    over_goal = []
    for app in APPS:
        real_tag, naive_tag = f"neosale-bench/{app}:real", f"neosale-bench/{app}:naive"
        real_s = build(REPO_ROOT / f"Dockerfile.{app}", real_tag, opts.node_image, opts.ca)
        naive_s = build(BENCH / f"Dockerfile.{app}.naive", naive_tag, opts.node_image, opts.ca)
        real, naive = image_size(real_tag), image_size(naive_tag)
        ratio = real / naive
        layers_ratio = (real - base) / (naive - base)
        if ratio > opts.goal:
            over_goal.append(app)
        cells = (f"{real / 1e6:.0f}", f"{naive / 1e6:.0f}", f"{ratio:.2f}", f"{layers_ratio:.2f}")
        cells += (f"{real_s:.0f}", f"{naive_s:.0f}")
        print(f"{app:<9}", *(f"{c:>{w}}" for c, w in zip(cells, WIDTHS, strict=True)))
    verdict = (
        f"above the goal {opts.goal:.2f}: {', '.join(over_goal)}"
        if over_goal
        else f"all within {opts.goal:.2f}"
    )
    print(verdict)
    return 1 if opts.check and over_goal else 0


if __name__ == "__main__":
    sys.exit(main())
