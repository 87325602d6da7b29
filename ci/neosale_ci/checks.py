"""The checks: lint, typecheck, unit and integration tests, Dockerfile lint,
secret scan. Each raises StageError with the tool's own output on failure."""

from __future__ import annotations

import dagger
from dagger import dag

from .build import installed
from .context import APPS, Context, run_tool
from .errors import StageError
from .migrations import Problem, blocking, new_migrations, unexplained_acknowledgements
from .scan import NO_NETWORK

# Test-only credentials of the throwaway database the integration check
# starts: it lives as long as the check and only the check can reach it.
TEST_DB = {
    "POSTGRES_USER": "neosale",
    "POSTGRES_PASSWORD": "neosale-test-only",
    "POSTGRES_DB": "neosale_test",
}


async def npm_script(ctx: Context, stage: str, app: str, script: str) -> str:
    done = await run_tool(f"{stage} ({app})", await installed(ctx, app), ["npm", "run", "--silent", script])
    return await done.stdout()


async def lint(ctx: Context, app: str) -> str:
    return await npm_script(ctx, "lint", app, "lint")


async def typecheck(ctx: Context, app: str) -> str:
    return await npm_script(ctx, "typecheck", app, "typecheck")


async def unit_test(ctx: Context, app: str) -> str:
    return await npm_script(ctx, "unit tests", app, "test")


async def integration_test(ctx: Context) -> str:
    """Backend integration tests against PostgreSQL and Redis as services."""
    url = "postgresql://{POSTGRES_USER}:{POSTGRES_PASSWORD}@db:5432/{POSTGRES_DB}".format(**TEST_DB)
    ctr = (
        (await installed(ctx, "backend"))
        .with_service_binding("db", ctx.postgres(TEST_DB))
        .with_service_binding("redis", ctx.redis())
        .with_env_variable("DATABASE_URL", url)
        .with_env_variable("REDIS_URL", "redis://redis:6379")
    )
    done = await run_tool("integration tests (backend)", ctr, ["npm", "run", "--silent", "test:integration"])
    return await done.stdout()


async def dockerfile_lint(ctx: Context) -> str:
    """hadolint on both Dockerfiles; findings print as file:line rule message."""
    files = [f"Dockerfile.{app}" for app in APPS]
    src = dag.directory()
    for f in files:
        src = src.with_file(f, ctx.source.file(f))
    if await ctx.source.glob(".hadolint.yaml"):
        src = src.with_file(".hadolint.yaml", ctx.source.file(".hadolint.yaml"))
    ctr = dag.container().from_(ctx.images.hadolint).with_directory("/src", src).with_workdir("/src")
    done = await run_tool("dockerfile lint", ctr, ["hadolint", "--no-color", *files])
    return await done.stdout()


async def secret_scan(ctx: Context) -> str:
    """trivy fs --scanners secret over the source (no vulnerability DB needed)."""
    ctr = dag.container().from_(ctx.images.trivy).with_directory("/src", ctx.source)
    args = [
        "trivy",
        "fs",
        *NO_NETWORK,
        "--quiet",
        "--scanners",
        "secret",
        "--exit-code",
        "1",
        "--format",
        "table",
        "/src",
    ]
    done = await run_tool("secret scan", ctr, args)
    return await done.stdout()


SQUAWK = "squawk-cli==2.70.0"


async def migration_safety(ctx: Context, base: dagger.Directory | None) -> str:
    """squawk on the migrations new relative to `base` (the base ref's
    backend/prisma/migrations); fails on changes that break the running colour."""
    migrations = ctx.app("backend").directory("prisma/migrations")
    current = [e.rstrip("/") for e in await migrations.entries()]
    base_names = [e.rstrip("/") for e in await base.entries()] if base is not None else None
    new = new_migrations(current, base_names)
    if not new:
        return "no new migration"
    files = [f"{name}/migration.sql" for name in new]
    problems: list[Problem] = []
    work = dag.directory()
    for f in files:
        work = work.with_file(f, migrations.file(f))
        problems += unexplained_acknowledgements(f, await migrations.file(f).contents())
    problems += await _squawk(ctx, work, files)
    if problems:
        lines = "\n".join(f"  {p}" for p in sorted(problems))
        raise StageError(
            "migration safety",
            f"{len(problems)} change(s) would break the colour still running:\n{lines}\n"
            "Split the change (expand now, contract in a later release), or acknowledge it in the "
            "migration: `-- squawk-ignore RULE -- why this is safe`.",
        )
    return f"{len(files)} new migration(s) safe for blue-green: {', '.join(new)}"


async def _squawk(ctx: Context, work: dagger.Directory, files: list[str]) -> list[Problem]:
    """squawk's blocking findings on `files` of `work`."""
    # A venv: Debian's python refuses pip installs into the system (PEP 668).
    ctr = (
        ctx.with_ca(dag.container().from_(ctx.images.python))
        .with_mounted_cache("/root/.cache/pip", dag.cache_volume("neosale-pip"))
        .with_exec(["python3", "-m", "venv", "/opt/squawk"])
        .with_exec(["/opt/squawk/bin/pip", "install", "--quiet", "--disable-pip-version-check", SQUAWK])
        .with_directory("/migrations", work)
        .with_workdir("/migrations")
        .with_exec(
            ["/opt/squawk/bin/squawk", "--reporter", "json", "--pg-version", "15", *files],
            expect=dagger.ReturnType.ANY,
        )
    )
    code = await ctr.exit_code()
    if code not in (0, 1):  # 1 = findings; anything else is squawk failing
        raise StageError("migration safety", f"squawk exited {code}: {await ctr.stderr()}")
    return blocking(await ctr.stdout())
