"""What every stage needs: the source, the images and the extra CA; plus the
base containers built from them. Stages take a Context, not the module
object, so they stay plain functions that are easy to read and to test."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import dagger
from dagger import dag, enum_type

from .errors import StageError

# Build outputs and local state never enter a build or a check: they would
# bust the cache and can leak a developer's files.
SOURCE_IGNORE = [
    "**/node_modules",
    "**/.next",
    "**/dist",
    "**/coverage",
    "**/src/generated",
    "**/.env",
    "**/.env.*.local",
    ".git",
    ".venv",
    "**/__pycache__",
    "**/.pytest_cache",
    "**/.mypy_cache",
    "**/.ruff_cache",
    "reports",
    "e2e/test-results",
    "e2e/playwright-report",
    "e2e/reports",
]


@enum_type
class App(enum.Enum):
    """The two NEOSALE apps, each built into its own image."""

    backend = "backend"
    frontend = "frontend"


APPS = tuple(app.value for app in App)
CA_PATH = "/etc/neosale/ca-bundle.crt"


@dataclass(frozen=True)
class Images:
    node: str
    trivy: str
    hadolint: str
    postgres: str
    redis: str
    nginx: str
    python: str
    playwright: str
    registry: str


@dataclass(frozen=True)
class Context:
    source: dagger.Directory
    images: Images
    ca_bundle: dagger.File | None = None

    def with_ca(self, ctr: dagger.Container) -> dagger.Container:
        """Trust the extra CA bundle (an intercepting proxy's) in npm, pip and curl."""
        if self.ca_bundle is None:
            return ctr
        return (
            ctr.with_mounted_file(CA_PATH, self.ca_bundle)
            .with_env_variable("NODE_EXTRA_CA_CERTS", CA_PATH)
            .with_env_variable("PIP_CERT", CA_PATH)
            .with_env_variable("SSL_CERT_FILE", CA_PATH)
        )

    def app(self, name: str) -> dagger.Directory:
        return self.source.directory(self.app_path(name))

    def postgres(self, env: dict[str, str]) -> dagger.Service:
        """PostgreSQL as a service, set up by its POSTGRES_* variables.

        It lives as long as the run, so durability buys nothing: no fsync in
        initdb or the server (the same SQL, less disk work on a busy runner).
        """
        ctr = (
            dag.container().from_(self.images.postgres).with_env_variable("POSTGRES_INITDB_ARGS", "--no-sync")
        )
        for key, value in env.items():
            ctr = ctr.with_env_variable(key, value)
        args = ["postgres", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        return ctr.with_exposed_port(5432).as_service(args=args, use_entrypoint=True)

    def redis(self) -> dagger.Service:
        return (
            dag.container().from_(self.images.redis).with_exposed_port(6379).as_service(use_entrypoint=True)
        )

    async def require_app(self, name: str) -> None:
        """A clear error for a source that is not this repository."""
        for f in ("package.json", "package-lock.json"):
            if not await self.source.glob(f"{self.app_path(name)}/{f}"):
                raise StageError(
                    "source",
                    f"{name}/{f} is missing from the source directory: expected the NEOSALE repository "
                    f"(frontend/ and backend/, each with package.json and package-lock.json)",
                )

    def app_path(self, name: str) -> str:
        if name not in APPS:
            raise StageError("source", f"unknown app {name!r}: expected one of {', '.join(APPS)}")
        return name


async def run_tool(stage: str, ctr: dagger.Container, args: list[str]) -> dagger.Container:
    """Run `args`; on a non-zero exit raise StageError with the tool's own
    output (file, line, rule), not just the exit code. The engine never
    caches a failed exec, so a failure from a loaded machine is retried on
    the next run (an exec allowed to fail would be cached, failure and all)."""
    try:
        return await ctr.with_exec(args).sync()
    except dagger.ExecError as exc:
        output = "\n".join(part.strip() for part in (exc.stdout, exc.stderr) if part.strip())
        raise StageError(stage, f"`{' '.join(args)}` exited {exc.exit_code}\n{output}") from None
