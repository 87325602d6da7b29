"""Image builds from Dockerfile.frontend / Dockerfile.backend, labelled from the commit."""

from __future__ import annotations

from dataclasses import dataclass

import dagger
from dagger import dag

from neosale_deploy.model import REVISION_LABEL

from .context import APPS, Context
from .errors import StageError
from .tags import Revision

# The Dockerfiles' WORKDIR in their build stages.
WORKDIR = "/src"


@dataclass(frozen=True)
class BuildInfo:
    """The commit facts every image carries (labels, build args, /version)."""

    revision: Revision
    created: str  # RFC 3339
    version: str
    source_url: str
    # Set by the pipeline, whose typecheck stage checks the same sources and
    # without which no image counts: the builds then only compile (TYPECHECKED).
    typechecked: bool = False

    def build_args(self) -> list[dagger.BuildArg]:
        args = [
            dagger.BuildArg(name="GIT_SHA", value=self.revision.sha),
            dagger.BuildArg(name="BUILD_TIME", value=self.created),
            dagger.BuildArg(name="APP_VERSION", value=self.version),
            dagger.BuildArg(name="SOURCE_URL", value=self.source_url),
        ]
        return [*args, dagger.BuildArg(name="TYPECHECKED", value="1")] if self.typechecked else args

    def labels(self, app: str) -> dict[str, str]:
        return {
            "org.opencontainers.image.title": f"neosale-{app}",
            REVISION_LABEL: self.revision.sha,
            "org.opencontainers.image.created": self.created,
            "org.opencontainers.image.version": self.version,
            "org.opencontainers.image.source": self.source_url,
        }


async def build_image(ctx: Context, app: str, info: BuildInfo) -> dagger.Container:
    ctr = await dockerfile_stage(ctx, app, "", info.build_args())
    # Labels again on the result: the Dockerfile sets them from the same args,
    # this makes them hold even for a Dockerfile that forgot one.
    for key, value in info.labels(app).items():
        ctr = ctr.with_label(key, value)
    return ctr


async def installed(ctx: Context, app: str) -> dagger.Container:
    """The Dockerfile's `deps` stage (the app's full `npm ci`) with the app's
    source over it, in /src: where the checks run.

    The image build starts from the same stage, so the engine installs once
    per change of the manifests for checks and image alike. Only the
    manifests feed the install, so a source edit keeps it cached.
    """
    await ctx.require_app(app)  # for a check, the missing app is the news, not its Dockerfile
    deps = await dockerfile_stage(ctx, app, "deps", [])
    return (
        deps.with_user("root")
        .with_env_variable("CI", "true")
        .with_env_variable("NEXT_TELEMETRY_DISABLED", "1")
        .with_env_variable("npm_config_update_notifier", "false")
        .with_directory(WORKDIR, ctx.app(app))
        .with_workdir(WORKDIR)
    )


async def dockerfile_stage(
    ctx: Context, app: str, target: str, build_args: list[dagger.BuildArg]
) -> dagger.Container:
    """Dockerfile.<app> built up to `target` ("" = the final image)."""
    if app not in APPS:
        raise StageError("build", f"unknown app {app!r}: expected one of {', '.join(APPS)}")
    dockerfile = f"Dockerfile.{app}"
    if not await ctx.source.glob(dockerfile):
        raise StageError(f"build ({app})", f"{dockerfile} is missing at the root of the source directory")
    await ctx.require_app(app)
    args = [dagger.BuildArg(name="NODE_IMAGE", value=ctx.images.node), *build_args]
    # The Dockerfiles read an extra CA from the `ca` build secret (see their header).
    secrets = [] if ctx.ca_bundle is None else [dag.set_secret("ca", await ctx.ca_bundle.contents())]
    return (await build_context(ctx, app)).docker_build(
        dockerfile=dockerfile, target=target, build_args=args, secrets=secrets
    )


async def build_context(ctx: Context, app: str) -> dagger.Directory:
    """Only what Dockerfile.<app> reads: <app>/, the Dockerfile and .dockerignore.

    Each Dockerfile COPYs from its own app directory alone, so a context of
    just that directory builds the same image while an edit to the other app
    (or to docs, CI, tests) leaves the context, and so the build, cached.
    """
    dockerfile = f"Dockerfile.{app}"
    out = dag.directory().with_directory(app, ctx.app(app)).with_file(dockerfile, ctx.source.file(dockerfile))
    if await ctx.source.glob(".dockerignore"):
        out = out.with_file(".dockerignore", ctx.source.file(".dockerignore"))
    return out
