"""The whole NEOSALE stack of one commit as Dagger services: PostgreSQL and
Redis, the backend (migrations, then the server) and the frontend from the
same Dockerfile builds the pipeline makes, and nginx with the repo's
nginx/ config in front. `stack` returns the router; `dagger call stack up`
puts it on localhost, and `e2e` binds it for the Playwright journeys.

The wiring follows docker-compose.yml: the hosts nginx/conf.d/upstream.conf
names (frontend:3000, backend:4000), the backend's `migrate && server`
command, BACKEND_URL for the frontend.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import anyio
import dagger
from dagger import dag

from .build import BuildInfo, build_image
from .context import Context
from .errors import StageError
from .tags import Revision, TagError

STAGE = "stack"

# The router's port (nginx/nginx.conf `listen 8080`, as in docker-compose.yml).
ROUTER_PORT = 8080
FRONTEND_PORT = 3000
BACKEND_PORT = 4000

# A stack built from a working tree, not a commit: labelled with the null sha.
LOCAL_SHA = "0" * 40
LOCAL_VERSION = "local"
# Fixed, so two stacks of the same source share every layer of their images.
CREATED = "1970-01-01T00:00:00Z"

# Throwaway credentials: the database lives as long as the stack, and only
# the stack's own containers can reach it.
STACK_DB = {
    "POSTGRES_USER": "neosale",
    "POSTGRES_PASSWORD": "neosale-stack-only",
    "POSTGRES_DB": "neosale",
}

# Everything the backend needs beyond its image (docker-compose.yml's values,
# except the rate limit: every E2E request comes from one client address).
BACKEND_ENV = {
    "NODE_ENV": "production",
    "HOST": "0.0.0.0",  # noqa: S104 -- inside its own container, reached via the service binding
    "PORT": str(BACKEND_PORT),
    "DATABASE_URL": "postgresql://{POSTGRES_USER}:{POSTGRES_PASSWORD}@postgres:5432/{POSTGRES_DB}".format(
        **STACK_DB
    ),
    "REDIS_URL": "redis://redis:6379/0",
    "TRUST_PROXY": "1",
    "RATE_LIMIT_MAX": "10000",
    "LOG_LEVEL": "info",
}

# Idempotent and serialised by an advisory lock (docker-compose.yml runs the same).
BACKEND_COMMAND = ["sh", "-c", "node dist/migrate.js && exec node dist/server.js"]

NGINX_FILES = ("nginx/nginx.conf", "nginx/conf.d/upstream.conf")


def stack_info(sha: str, source_url: str) -> BuildInfo:
    """Labels for a stack's images: the commit's sha, or the null sha for a working tree."""
    try:
        revision = Revision(sha or LOCAL_SHA)
    except TagError as exc:
        raise StageError(STAGE, f"{exc} (leave it empty for a local build)") from None
    version = revision.short if sha else LOCAL_VERSION
    return BuildInfo(revision, CREATED, version, source_url)


def _origins(origins: list[str]) -> str:
    for origin in origins:
        if not origin.startswith(("http://", "https://")) or origin.count("/") != 2:
            raise StageError(STAGE, f"origin {origin!r} is not an http(s) origin like http://localhost:8080")
    return ",".join(origins)


def backend(
    image: dagger.Container, db: dagger.Service, cache: dagger.Service, origins: str
) -> dagger.Service:
    ctr = image.with_service_binding("postgres", db).with_service_binding("redis", cache)
    for key, value in {**BACKEND_ENV, "CORS_ORIGINS": origins}.items():
        ctr = ctr.with_env_variable(key, value)
    return ctr.with_exposed_port(BACKEND_PORT).as_service(args=BACKEND_COMMAND)


def frontend(image: dagger.Container, api: dagger.Service) -> dagger.Service:
    return (
        image.with_service_binding("backend", api)
        .with_env_variable("BACKEND_URL", f"http://backend:{BACKEND_PORT}")
        .with_env_variable("HOSTNAME", "0.0.0.0")  # noqa: S104 -- as above
        .with_env_variable("PORT", str(FRONTEND_PORT))
        .with_exposed_port(FRONTEND_PORT)
        .as_service(use_entrypoint=True)
    )


async def router(ctx: Context, web: dagger.Service, api: dagger.Service) -> dagger.Service:
    """nginx with the repo's nginx.conf and conf.d/ (mounted over the image's
    own, so no default server of the image is left in), bound by the names
    conf.d/upstream.conf uses."""
    for path in NGINX_FILES:
        if not await ctx.source.glob(path):
            raise StageError(STAGE, f"{path} is missing from the source directory")
    return (
        dag.container()
        .from_(ctx.images.nginx)
        .with_env_variable("NGINX_ENTRYPOINT_QUIET_LOGS", "1")
        .with_mounted_file("/etc/nginx/nginx.conf", ctx.source.file("nginx/nginx.conf"))
        .with_mounted_directory("/etc/nginx/conf.d", ctx.source.directory("nginx/conf.d"))
        .with_service_binding("frontend", web)
        .with_service_binding("backend", api)
        .with_exposed_port(ROUTER_PORT)
        .as_service(use_entrypoint=True)
    )


@dataclass(frozen=True)
class Stack:
    """A stack's router (what clients talk to) and the services behind it."""

    router: dagger.Service
    parts: tuple[dagger.Service, ...]

    async def stop(self) -> None:
        """Kill every service now. Left to the end of the session instead, five
        services' teardown can overrun the client's shutdown deadline (10 s)
        on a loaded machine and fail an otherwise finished run."""
        async with anyio.create_task_group() as tg:
            for svc in (self.router, *self.parts):
                tg.start_soon(partial(svc.stop, kill=True))


async def stack(ctx: Context, info: BuildInfo, origins: list[str]) -> Stack:
    """A fresh stack built from ctx.source; the images are the pipeline's
    builds (same Dockerfiles and arguments), so the layers are shared."""
    allowed = _origins(origins)
    backend_image = await build_image(ctx, "backend", info)
    frontend_image = await build_image(ctx, "frontend", info)
    db, cache = ctx.postgres(STACK_DB), ctx.redis()
    # One backend service for both clients: the frontend's server-side calls
    # and nginx's /api/ must see the same database.
    api = backend(backend_image, db, cache, allowed)
    web = frontend(frontend_image, api)
    return Stack(await router(ctx, web, api), (web, api, db, cache))
