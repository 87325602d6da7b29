"""Image builds from Dockerfile.frontend / Dockerfile.backend, labelled from the commit."""

from __future__ import annotations

from dataclasses import dataclass

import dagger

from .context import APPS, Context
from .errors import StageError
from .tags import Revision


@dataclass(frozen=True)
class BuildInfo:
    """The commit facts every image carries (labels, build args, /version)."""

    revision: Revision
    created: str  # RFC 3339
    version: str
    source_url: str

    def build_args(self) -> list[dagger.BuildArg]:
        return [
            dagger.BuildArg(name="GIT_SHA", value=self.revision.sha),
            dagger.BuildArg(name="BUILD_TIME", value=self.created),
            dagger.BuildArg(name="APP_VERSION", value=self.version),
            dagger.BuildArg(name="SOURCE_URL", value=self.source_url),
        ]

    def labels(self, app: str) -> dict[str, str]:
        return {
            "org.opencontainers.image.title": f"neosale-{app}",
            "org.opencontainers.image.revision": self.revision.sha,
            "org.opencontainers.image.created": self.created,
            "org.opencontainers.image.version": self.version,
            "org.opencontainers.image.source": self.source_url,
        }


async def build_image(ctx: Context, app: str, info: BuildInfo) -> dagger.Container:
    if app not in APPS:
        raise StageError("build", f"unknown app {app!r}: expected one of {', '.join(APPS)}")
    dockerfile = f"Dockerfile.{app}"
    if not await ctx.source.glob(dockerfile):
        raise StageError(f"build ({app})", f"{dockerfile} is missing at the root of the source directory")
    args = [dagger.BuildArg(name="NODE_IMAGE", value=ctx.images.node), *info.build_args()]
    ctr = ctx.source.docker_build(dockerfile=dockerfile, build_args=args)
    # Labels again on the result: the Dockerfile sets them from the same args,
    # this makes them hold even for a Dockerfile that forgot one.
    for key, value in info.labels(app).items():
        ctr = ctr.with_label(key, value)
    return ctr
