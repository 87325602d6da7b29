"""Client entry: run the module's functions on a local checkout without
`dagger call` (which cannot load a Python module offline), e.g.

    python -m neosale_ci pipeline                  # official images
    python -m neosale_ci pipeline --airgap         # the local stand-in image set
    python -m neosale_ci lint --airgap

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

CHECKS = ("lint", "typecheck", "unit-test", "integration-test", "dockerfile-lint", "secret-scan")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m neosale_ci", description=__doc__.split("\n\n")[0])
    p.add_argument("function", choices=["pipeline", *CHECKS], help="what to run")
    p.add_argument("--source", type=Path, default=Path.cwd(), help="repository checkout (default: .)")
    p.add_argument("--airgap", action="store_true", help="use the local stand-in images and Trivy DB")
    p.add_argument("--registry", default="", help="HOST[:PORT]/NAMESPACE to publish to")
    p.add_argument("--username", default="", help="registry user")
    p.add_argument(
        "--password-env", default="", help="name of the env variable holding the registry password"
    )
    p.add_argument("--severity", default="HIGH", help="lowest severity that fails the Trivy gate")
    p.add_argument("--reports", type=Path, default=Path("reports"), help="where reports are written")
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


async def run(args: argparse.Namespace) -> int:
    repo = args.source.resolve()
    async with dagger.connection(dagger.Config(log_output=sys.stderr)):
        mod, db = module(args)
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
            ref=git(repo, "rev-parse", "--symbolic-full-name", "HEAD"),
            created=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            registry=args.registry,
            username=args.username,
            password=password,
            trivy_db=db,
            severity=args.severity,
        )
        args.reports.mkdir(parents=True, exist_ok=True)
        await run_.reports().export(str(args.reports))
    print(run_.markdown)
    print(f"reports: {args.reports}/", file=sys.stderr)
    return 0 if run_.passed else 1


def main(argv: list[str] | None = None) -> int:
    return anyio.run(run, parse(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
