"""The NeoSale CI Dagger module: configuration in the constructor, one small
function per stage, and `pipeline` that chains them.

Stage logic lives in the modules named after the stages (checks.py,
build.py, scan.py, publish.py); pure decisions (tags, the Trivy gate, the
report) are plain Python in tags.py, gate.py and report.py.
"""

from __future__ import annotations

from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore, check, function, object_type

from . import build as build_stage
from . import checks, defaults
from .context import SOURCE_IGNORE, Context, Images
from .pipeline import PipelineRun, run_pipeline
from .publish import publish
from .scan import ReportFormat, Scan
from .tags import Revision, tags_for

ShaArg = Annotated[str, Doc("full 40-hex git commit sha being built")]
RefArg = Annotated[str, Doc("git ref (refs/heads/main, refs/tags/v1.2.3, refs/pull/7/merge)")]


@object_type
class TrivyScan:
    """A Trivy scan of one image: reports in any format, and the gate."""

    image: dagger.Container
    name: str
    trivy_image: str
    db: dagger.Directory | None = None
    ignore_file: dagger.File | None = None

    def _scan(self) -> Scan:
        return Scan(self.image, self.name, self.db, self.trivy_image, self.ignore_file)

    @function
    async def report(
        self, format: Annotated[ReportFormat, Doc("json, sarif, table or cyclonedx")]
    ) -> dagger.File:
        """The full report, every severity."""
        return await self._scan().report(format)

    @function
    async def gate(
        self,
        severity: Annotated[str, Doc("lowest severity that blocks: LOW, MEDIUM, HIGH, CRITICAL")] = "HIGH",
        ignore_unfixed: Annotated[bool, Doc("findings without a fixed version do not block")] = True,
    ) -> str:
        """Fail with the blocking findings (ID, package, installed, fixed, severity)."""
        return await self._scan().gate(severity, ignore_unfixed)


@object_type
class Neosale:
    """CI/CD for the NEOSALE platform: checks, builds, Trivy gate, publish."""

    source: Annotated[
        dagger.Directory,
        DefaultPath("/"),
        Ignore(SOURCE_IGNORE),
        Doc("the repository checkout (frontend/, backend/, Dockerfiles)"),
    ]
    node_image: Annotated[str, Doc("Node.js 22 image for installs, checks and the Dockerfiles' base")] = (
        defaults.NODE
    )
    trivy_image: Annotated[str, Doc("Trivy image for scans")] = defaults.TRIVY
    hadolint_image: Annotated[str, Doc("hadolint image for Dockerfile lint")] = defaults.HADOLINT
    postgres_image: Annotated[str, Doc("PostgreSQL image for integration tests and stacks")] = (
        defaults.POSTGRES
    )
    redis_image: Annotated[str, Doc("Redis image for integration tests and stacks")] = defaults.REDIS
    nginx_image: Annotated[str, Doc("nginx image for the router")] = defaults.NGINX
    python_image: Annotated[str, Doc("Python image for the deploy and smoke runners")] = defaults.PYTHON
    playwright_image: Annotated[str, Doc("Playwright image with a browser for E2E")] = defaults.PLAYWRIGHT
    registry_image: Annotated[str, Doc("OCI registry image for the embedded registry")] = defaults.REGISTRY
    ca_bundle: Annotated[
        dagger.File | None, Doc("extra CA bundle to trust (an intercepting proxy's), PEM")
    ] = None
    source_url: Annotated[str, Doc("repository URL for the images' source label")] = (
        "https://github.com/neosale/neosale"
    )

    def ctx(self) -> Context:
        images = Images(
            node=self.node_image,
            trivy=self.trivy_image,
            hadolint=self.hadolint_image,
            postgres=self.postgres_image,
            redis=self.redis_image,
            nginx=self.nginx_image,
            python=self.python_image,
            playwright=self.playwright_image,
            registry=self.registry_image,
        )
        return Context(self.source, images, self.ca_bundle)

    # --- checks -----------------------------------------------------------

    @function
    @check
    async def lint(self) -> None:
        """ESLint on the frontend and the backend."""
        for app in ("backend", "frontend"):
            await checks.lint(self.ctx(), app)

    @function
    @check
    async def typecheck(self) -> None:
        """tsc --noEmit on the frontend and the backend."""
        for app in ("backend", "frontend"):
            await checks.typecheck(self.ctx(), app)

    @function
    @check
    async def unit_test(self) -> None:
        """Unit tests of both apps."""
        for app in ("backend", "frontend"):
            await checks.unit_test(self.ctx(), app)

    @function
    @check
    async def integration_test(self) -> None:
        """Backend integration tests against PostgreSQL and Redis services."""
        await checks.integration_test(self.ctx())

    @function
    @check
    async def dockerfile_lint(self) -> None:
        """hadolint on Dockerfile.frontend and Dockerfile.backend."""
        await checks.dockerfile_lint(self.ctx())

    @function
    @check
    async def secret_scan(self) -> None:
        """Trivy secret scan of the source."""
        await checks.secret_scan(self.ctx())

    @function
    @check
    async def migration_safety(
        self,
        base: Annotated[
            dagger.Directory | None,
            Doc("backend/prisma/migrations at the base ref; without it every migration is checked"),
        ] = None,
    ) -> str:
        """squawk on new Prisma migrations: fails on changes that break the colour still running."""
        return await checks.migration_safety(self.ctx(), base)

    # --- builds -----------------------------------------------------------

    def _info(self, sha: str, version: str, created: str) -> build_stage.BuildInfo:
        return build_stage.BuildInfo(Revision(sha), created, version or sha[:7], self.source_url)

    @function
    async def build_frontend(
        self,
        sha: ShaArg,
        created: Annotated[str, Doc("build time, RFC 3339")],
        version: Annotated[str, Doc("version label; default: short sha")] = "",
    ) -> dagger.Container:
        """The frontend image from Dockerfile.frontend, labelled from the commit."""
        return await build_stage.build_image(self.ctx(), "frontend", self._info(sha, version, created))

    @function
    async def build_backend(
        self,
        sha: ShaArg,
        created: Annotated[str, Doc("build time, RFC 3339")],
        version: Annotated[str, Doc("version label; default: short sha")] = "",
    ) -> dagger.Container:
        """The backend image from Dockerfile.backend, labelled from the commit."""
        return await build_stage.build_image(self.ctx(), "backend", self._info(sha, version, created))

    # --- scan -------------------------------------------------------------

    @function
    def scan(
        self,
        image: Annotated[dagger.Container, Doc("the image to scan")],
        name: Annotated[str, Doc("a name for reports")] = "image",
        db: Annotated[
            dagger.Directory | None, Doc("Trivy cache dir holding db/trivy.db: scan offline")
        ] = None,
        ignore_file: Annotated[dagger.File | None, Doc(".trivyignore to honour")] = None,
    ) -> TrivyScan:
        """Scan an image with Trivy; chain `report` or `gate`."""
        return TrivyScan(image=image, name=name, trivy_image=self.trivy_image, db=db, ignore_file=ignore_file)

    @function
    async def sbom(
        self,
        image: Annotated[dagger.Container, Doc("the image to describe")],
        name: Annotated[str, Doc("a name for the report")] = "image",
    ) -> dagger.File:
        """A CycloneDX SBOM of the image (Dagger cannot attach it to the image yet: ship it as a file)."""
        return await Scan(image, name, None, self.trivy_image).report(ReportFormat.CYCLONEDX)

    # --- publish ----------------------------------------------------------

    @function(cache="never")
    async def publish(
        self,
        image: Annotated[dagger.Container, Doc("the image to push")],
        repository: Annotated[str, Doc("HOST[:PORT]/PATH, no tag")],
        sha: ShaArg,
        ref: RefArg = "",
        username: Annotated[str, Doc("registry user")] = "",
        password: Annotated[dagger.Secret | None, Doc("registry password or token")] = None,
    ) -> str:
        """Push with every tag of the commit; returns repository@sha256:digest."""
        tags = tags_for(Revision(sha, ref))
        return (await publish(image, repository, tags, username, password)).ref

    # --- the whole run ----------------------------------------------------

    @function(cache="never")
    async def pipeline(
        self,
        sha: ShaArg,
        created: Annotated[str, Doc("build time, RFC 3339")],
        ref: RefArg = "",
        version: Annotated[str, Doc("version label; default: short sha")] = "",
        registry: Annotated[str, Doc("HOST[:PORT]/NAMESPACE to publish to; empty: build and scan only")] = "",
        username: Annotated[str, Doc("registry user")] = "",
        password: Annotated[dagger.Secret | None, Doc("registry password or token")] = None,
        trivy_db: Annotated[dagger.Directory | None, Doc("Trivy cache dir for an offline scan")] = None,
        severity: Annotated[str, Doc("lowest severity that fails the gate")] = "HIGH",
        base_migrations: Annotated[
            dagger.Directory | None, Doc("backend/prisma/migrations at the base ref, for migration safety")
        ] = None,
    ) -> PipelineRun:
        """checks (concurrent) → builds → Trivy gate → publish; returns the run's reports."""
        return await run_pipeline(
            self.ctx(),
            info=self._info(sha, version, created),
            ref=ref,
            registry=registry,
            username=username,
            password=password,
            trivy_db=trivy_db,
            severity=severity,
            base_migrations=base_migrations,
        )


__all__ = ["Neosale", "ReportFormat", "TrivyScan"]
