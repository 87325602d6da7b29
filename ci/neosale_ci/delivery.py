"""The stages after publish: a staging deploy of the published digests, its
smoke and E2E against the staging URL; or E2E alone on an ephemeral stack."""

from __future__ import annotations

from collections.abc import Awaitable
from contextlib import suppress
from dataclasses import dataclass

import dagger
from dagger import dag

from .build import BuildInfo
from .context import App, Context
from .deploy import Deployment, digest_args
from .e2e import EndToEndRun, run_e2e, run_e2e_on_stack
from .errors import StageError
from .hostnet import check_url
from .publish import PublishedImage
from .smoke import run_smoke
from .stages import Stages, Stopped


@dataclass(frozen=True)
class Delivery:
    """What runs after publish: `staging` (with smoke and E2E against
    `staging_url`), else E2E on an ephemeral stack when `e2e`."""

    e2e: bool = False
    staging: Deployment | None = None
    staging_url: str = ""


def plan_delivery(
    *, end_to_end: bool, staging: Deployment | None, staging_url: str, registry: str
) -> Delivery | None:
    """What runs after publish, checked before any stage runs: a bad combination wastes no build."""
    if staging is None:
        return Delivery(e2e=True) if end_to_end else None
    if not registry:
        raise StageError(
            "run", "--staging needs --registry: the staging host pulls the published digests from it"
        )
    return Delivery(staging=staging, staging_url=check_url("run", "staging_url", staging_url))


async def deliver(
    ctx: Context, stages: Stages, info: BuildInfo, delivery: Delivery, images: list[PublishedImage]
) -> dagger.Directory:
    """The delivery stages' reports (smoke/, e2e/), whether they passed or not."""
    reports = Reports()
    with suppress(Stopped):
        if delivery.staging is not None:
            await _staging(ctx, stages, info, delivery, delivery.staging, images, reports)
        elif delivery.e2e:
            await stages.run("e2e (ephemeral stack)", lambda: reports.e2e(run_e2e_on_stack(ctx, info)))
    return reports.out


async def _staging(
    ctx: Context,
    stages: Stages,
    info: BuildInfo,
    delivery: Delivery,
    staging: Deployment,
    images: list[PublishedImage],
    reports: Reports,
) -> None:
    sha, url = info.revision.sha, delivery.staging_url
    refs = {img.app: img.ref() for img in images}
    args = digest_args(refs.get(App.backend, ""), refs.get(App.frontend, ""), sha, "")
    await stages.run("deploy (staging)", lambda: staging.run("deploy (staging)", "deploy", *args))
    await stages.run("smoke (staging)", lambda: reports.smoke(ctx, url, sha))
    await stages.run("e2e (staging)", lambda: reports.e2e(run_e2e(ctx, url, revision=sha)))


class Reports:
    """The delivery reports gathered so far; each stage's verdict after its reports are kept."""

    def __init__(self) -> None:
        self.out = dag.directory()

    async def smoke(self, ctx: Context, url: str, sha: str) -> None:
        run = await run_smoke(ctx, url, sha, None)
        self.out = self.out.with_directory("smoke", run.reports)
        run.verdict()

    async def e2e(self, pending: Awaitable[EndToEndRun]) -> None:
        run = await pending
        self.out = self.out.with_directory("e2e", run.reports())
        run.verdict()
