"""Client entry: run the module's functions on a local checkout without
`dagger call` (which cannot load a Python module offline), e.g.

    python -m neosale_ci pipeline                  # official images
    python -m neosale_ci pipeline --airgap         # the local stand-in image set
    python -m neosale_ci lint --airgap
    python -m neosale_ci stack --airgap            # the whole stack on http://localhost:8080
    python -m neosale_ci end-to-end --airgap [--base-url URL]

Reports go to ./reports (summary.md, report.json, trivy-*.sarif); the exit
code is non-zero when the run failed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import anyio
import dagger
from dagger import dag

from .context import SOURCE_IGNORE
from .errors import StageError
from .main import Neosale
from .stack import ROUTER_PORT, stack, stack_info

CHECKS = ("lint", "typecheck", "unit-test", "integration-test", "dockerfile-lint", "secret-scan")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def checked_out_ref(repo: Path) -> str:
    """refs/heads/BRANCH; empty on a detached checkout (git says "HEAD"), which gets sha tags only."""
    ref = git(repo, "rev-parse", "--symbolic-full-name", "HEAD")
    return "" if ref == "HEAD" else ref


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m neosale_ci", description=__doc__.split("\n\n")[0])
    p.add_argument("function", choices=["pipeline", "stack", "end-to-end", *CHECKS], help="what to run")
    p.add_argument("--source", type=Path, default=Path.cwd(), help="repository checkout (default: .)")
    p.add_argument("--airgap", action="store_true", help="use the local stand-in images and Trivy DB")
    p.add_argument("--registry", default="", help="HOST[:PORT]/NAMESPACE to publish to")
    p.add_argument("--username", default="", help="registry user")
    p.add_argument(
        "--password-env", default="", help="name of the env variable holding the registry password"
    )
    p.add_argument("--severity", default="HIGH", help="lowest severity that fails the Trivy gate")
    p.add_argument(
        "--end-to-end", action="store_true", help="pipeline: E2E on an ephemeral stack after publish"
    )
    p.add_argument("--reports", type=Path, default=Path("reports"), help="where reports are written")
    p.add_argument("--port", type=int, default=8080, help="stack: host port of the router")
    p.add_argument("--base-url", default="", help="end-to-end: deployed URL (default: an ephemeral stack)")
    return p.parse_args(argv)


def module(args: argparse.Namespace) -> tuple[Neosale, dagger.Directory | None]:
    source = dag.host().directory(str(args.source.resolve()), exclude=SOURCE_IGNORE)
    if not args.airgap:
        return Neosale(source=source), None
    from neosale_airgap import standins

    images = standins.module_images()
    db = dag.host().directory(str(standins.trivy_db_cache()))
    ca = dag.host().file("/etc/ssl/certs/ca-certificates.crt")
    return Neosale(source=source, ca_bundle=ca, **images), db


async def up_stack(mod: Neosale, port: int) -> int:
    """`dagger call stack up`, in client mode."""
    origin = f"http://localhost:{port}"
    services = await stack(mod.ctx(), stack_info("", mod.source_url), [origin])
    print(f"stack: {origin} (Ctrl-C stops it)", file=sys.stderr)
    try:
        await services.router.up(ports=[dagger.PortForward(backend=ROUTER_PORT, frontend=port)])
    finally:
        with anyio.CancelScope(shield=True):
            await services.stop()
    return 0


async def e2e(mod: Neosale, args: argparse.Namespace) -> int:
    run_ = await mod.end_to_end(base_url=args.base_url)
    out = args.reports / "e2e"
    out.mkdir(parents=True, exist_ok=True)
    await run_.reports().export(str(out))
    print(run_.summary())
    print(f"reports: {out}/", file=sys.stderr)
    return 0 if run_.passed else 1


async def run(args: argparse.Namespace) -> int:
    repo = args.source.resolve()
    async with dagger.connection(dagger.Config(log_output=sys.stderr)):
        mod, db = module(args)
        if args.function in ("stack", "end-to-end"):
            try:
                return await (up_stack(mod, args.port) if args.function == "stack" else e2e(mod, args))
            except StageError as exc:
                print(exc, file=sys.stderr)
                return 2
        if args.function != "pipeline":
            try:
                await getattr(mod, args.function.replace("-", "_"))()
            except StageError as exc:
                print(exc, file=sys.stderr)
                return 1
            print(f"{args.function}: passed")
            return 0
        password = None
        if args.password_env:
            value = os.environ.get(args.password_env)
            if not value:
                print(
                    f"--password-env {args.password_env}: that variable is not set or empty", file=sys.stderr
                )
                return 2
            password = dag.set_secret(f"registry-password-{args.password_env}", value)
        run_ = await mod.pipeline(
            sha=git(repo, "rev-parse", "HEAD"),
            ref=checked_out_ref(repo),
            created=dt.datetime.fromtimestamp(
                int(git(repo, "show", "-s", "--format=%ct", "HEAD")), dt.UTC
            ).strftime("%Y-%m-%dT%H:%M:%SZ"),
            registry=args.registry,
            username=args.username,
            password=password,
            trivy_db=db,
            severity=args.severity,
            end_to_end=args.end_to_end,
        )
        args.reports.mkdir(parents=True, exist_ok=True)
        await run_.reports().export(str(args.reports))
    print(run_.markdown)
    print(f"reports: {args.reports}/", file=sys.stderr)
    return 0 if run_.passed else 1


def main(argv: list[str] | None = None) -> int:
    try:
        return anyio.run(run, parse(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:  # Ctrl-C, e.g. ending `stack`
        return 130


if __name__ == "__main__":
    sys.exit(main())
