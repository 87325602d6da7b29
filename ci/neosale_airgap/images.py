"""Build, list and check the air-gapped image set (airgap/images.toml).

    python -m neosale_airgap.images build [NAME ...] [--force] [--no-cache] [--json]
    python -m neosale_airgap.images list [--json]
    python -m neosale_airgap.images check [NAME ...] [--json]

Each image is built in the Dagger engine from the debootstrap rootfs (or from
another image of the manifest), checked, and only then published to the local
registry, labelled with the hash of its inputs. An image whose recorded hash
equals the one computed now is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from neosale_airgap import registry
from neosale_airgap.env import apply_airgap_env
from neosale_airgap.inputs import DEFAULT_MANIFEST, cache_dir
from neosale_airgap.manifest import Manifest, ManifestError, UnknownImageError, load_manifest
from neosale_airgap.planning import short
from neosale_airgap.results import Report, progress
from neosale_airgap.runs import build_images, check_images


class EngineDownError(RuntimeError):
    pass


def engine_reachable(env: dict[str, str]) -> None:
    """Fail fast when the engine socket is dead: the Dagger CLI would retry for minutes."""
    host = env.get("_EXPERIMENTAL_DAGGER_RUNNER_HOST", "")
    if not host.startswith("unix://"):
        return  # another transport: let the SDK report on it
    path = host.removeprefix("unix://")
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(path)
    except OSError as exc:
        raise EngineDownError(
            f"no Dagger engine answers at {host} ({exc.strerror or exc}); "
            "start it with airgap/engine.sh start"
        ) from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m neosale_airgap.images",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST, help="default: airgap/images.toml")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build and publish images whose inputs changed")
    b.add_argument("names", nargs="*", metavar="NAME", help="images to build (default: all)")
    b.add_argument("--force", action="store_true", help="rebuild even when the inputs are unchanged")
    b.add_argument(
        "--no-cache",
        action="store_true",
        help="also rerun every step in the engine (fresh apt packages); implies --force",
    )
    c = sub.add_parser("check", help="run each image's check on the image in the registry")
    c.add_argument("names", nargs="*", metavar="NAME")
    sub.add_parser("list", help="the images of the manifest and what the registry holds")
    for s in (b, c, sub.choices["list"]):
        s.add_argument("--json", action="store_true", help="print a JSON report on stdout")
        s.add_argument(
            "--verbose", action="store_true", help="engine progress on stderr, not in the log file"
        )
    return p


def _list_rows(manifest: Manifest, addr: str, up: bool) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "ref": manifest.ref(name, addr),
            "version": image.version,
            "base": image.base,
            "published_inputs": (
                registry.published_inputs(addr, f"{manifest.namespace}/{name}", image.tag) if up else None
            ),
            "description": image.description,
        }
        for name, image in manifest.images.items()
    ]


def _list(manifest: Manifest, addr: str, as_json: bool) -> int:
    try:
        registry.ping(addr)
        up = True
    except registry.RegistryDownError:
        up = False
    rows = _list_rows(manifest, addr, up)
    if as_json:
        print(json.dumps({"registry": addr, "registry_up": up, "images": rows}, indent=2))
        return 0
    for r in rows:
        state = short(r["published_inputs"]) if r["published_inputs"] else "-"
        print(f"{r['name']:<11} {r['ref']:<45} {state:<12} {r['description']}")
    if not up:
        print(f"(registry at {addr} is down: airgap/registry.sh start)", file=sys.stderr)
    return 0


async def _command(
    args: argparse.Namespace,
    manifest: Manifest,
    names: Sequence[str],
    env: dict[str, str],
    report: Report,
    log: TextIO,
) -> None:
    if args.command == "build":
        await build_images(
            manifest, names, force=args.force, no_cache=args.no_cache, env=env, report=report, log=log
        )
    else:
        await check_images(manifest, names, report, log)


def _run(args: argparse.Namespace, manifest: Manifest, names: Sequence[str], env: dict[str, str]) -> int:
    """Build or check, the engine's log in a file (on stderr with --verbose); a summary at the end."""
    log_path = cache_dir(env) / f"{args.command}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    report = Report(args.command, env["NEOSALE_REGISTRY_ADDR"])
    t0 = time.monotonic()
    import anyio
    import dagger

    with open(log_path, "w") as log_file:
        log: TextIO = sys.stderr if args.verbose else log_file
        try:
            anyio.run(_command, args, manifest, names, env, report, log)
        except (RuntimeError, OSError, dagger.DaggerError) as exc:
            progress(f"error: {exc} (engine log: {log_path})")
            return 1
    report.seconds = round(time.monotonic() - t0, 1)
    progress(f"{args.command}: {report.summary()} in {report.seconds:.1f}s")
    if not report.ok:
        failed = [f"{r.name} (step '{r.failure.step}')" for r in report.failed if r.failure]
        progress(f"failed: {', '.join(failed)}; engine log: {log_path}")
    if args.json:
        print(report.to_json())
    return 0 if report.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = apply_airgap_env()
    addr = env["NEOSALE_REGISTRY_ADDR"]
    try:
        manifest = load_manifest(args.manifest)
        if args.command == "list":
            return _list(manifest, addr, args.json)
        names = manifest.select(args.names)
        registry.ping(addr)
        engine_reachable(env)
    except UnknownImageError as exc:
        progress(f"error: {exc}")
        return 2
    except (ManifestError, registry.RegistryDownError, EngineDownError) as exc:
        progress(f"error: {exc}")
        return 1
    return _run(args, manifest, names, env)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
