"""The NeoSale CI Dagger module: configuration in the constructor, one small
function per stage, and `run` that chains them (the whole pipeline).

Stage logic lives in the modules named after the stages (checks.py,
build.py, scan.py, publish.py); pure decisions (tags, the Trivy gate, the
report) are plain Python in tags.py, gate.py and report.py.
"""

from __future__ import annotations

from typing import Annotated

import dagger
from dagger import DefaultPath, Doc, Ignore

from . import build as build_stage
from . import checks, defaults
from . import e2e as e2e_stage
from . import stack as stack_stage
from .approval import check_approval
from .args import (
    AppEnvArg,
    BaseMigrationsArg,
    CreatedArg,
    DigestArg,
    EnvironmentArg,
    PasswordArg,
    PromotedShaArg,
    RefArg,
    RegistryArg,
    ShaArg,
    TargetArg,
    UsernameArg,
    VersionArg,
)
from .context import APPS, SOURCE_IGNORE, App, Context, Images
from .delivery import plan_delivery
from .deploy import Deployment, DockerAccess, Environment, digest_args
from .e2e import EndToEndRun
from .gate import Severity
from .pipeline import PipelineRun, run_pipeline
from .publish import publish
from .scan import ReportFormat, Scan, TrivyScan
from .sdk import check, function, object_type, up
from .smoke import SmokeRun, run_smoke
from .tags import Revision, tags_for


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
    trivy_db: Annotated[
        dagger.Directory | None,
        Doc("Trivy cache dir holding db/trivy.db: every scan runs offline (--skip-db-update)"),
    ] = None
    source_url: Annotated[str, Doc("repository URL for the images' source label")] = (
        "https://github.com/neosale/neosale"
    )
    # Where delivery functions deploy: one docker host, local or remote.
    docker_socket: Annotated[
        dagger.Socket | None, Doc("a local Docker Engine's socket (unix:///var/run/docker.sock)")
    ] = None
    docker_host: Annotated[
        dagger.Secret | None, Doc("a remote Docker Engine: tcp://HOST:2376 (with --tls-*) or ssh://USER@HOST")
    ] = None
    ssh_key: Annotated[dagger.Secret | None, Doc("private key for an ssh:// docker host")] = None
    ssh_known_hosts: Annotated[
        dagger.Secret | None, Doc("known_hosts lines for an ssh:// docker host (its key is checked)")
    ] = None
    tls_ca: Annotated[dagger.Secret | None, Doc("CA that signed a tcp:// docker host's certificate, PEM")] = (
        None
    )
    tls_cert: Annotated[dagger.Secret | None, Doc("client certificate for a tcp:// docker host, PEM")] = None
    tls_key: Annotated[dagger.Secret | None, Doc("client key for a tcp:// docker host, PEM")] = None
    pull_username: Annotated[
        str, Doc("user the docker host pulls the release images as, from a private registry")
    ] = ""
    pull_password: Annotated[
        dagger.Secret | None, Doc("password or token of --pull-username (ghcr.io: env://GITHUB_TOKEN)")
    ] = None

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
        """ESLint on the frontend and the backend.

        Fails on any ESLint error, printing the file, line, rule and message."""
        for app in APPS:
            await checks.lint(self.ctx(), app)

    @function
    @check
    async def typecheck(self) -> None:
        """tsc --noEmit on the frontend and the backend: fails on any type error."""
        for app in APPS:
            await checks.typecheck(self.ctx(), app)

    @function
    @check
    async def unit_test(self) -> None:
        """Unit tests of both apps (`npm test`), the backend's first.

        Fails on the first app with a failing test, printing the runner's output
        for it: the test name, the assertion and its location."""
        for app in APPS:
            await checks.unit_test(self.ctx(), app)

    @function
    @check
    async def integration_test(self) -> None:
        """Backend integration tests (`npm run test:integration`).

        They run against PostgreSQL and Redis started as services for this check
        alone, with throwaway test-only credentials."""
        await checks.integration_test(self.ctx())

    @function
    @check
    async def dockerfile_lint(self) -> None:
        """hadolint on Dockerfile.frontend and Dockerfile.backend, with the
        repository's .hadolint.yaml; fails listing each finding as file:line rule."""
        await checks.dockerfile_lint(self.ctx())

    @function
    @check
    async def secret_scan(self) -> None:
        """Trivy's secret scanner over the whole checkout, offline.

        No vulnerability database is needed. A finding fails the check with the
        file, line and rule; the secret itself is shown masked."""
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
    async def build(
        self,
        app: Annotated[App, Doc("the app whose image to build, from Dockerfile.<app>")],
        sha: ShaArg,
        created: CreatedArg,
        version: VersionArg = "",
    ) -> dagger.Container:
        """An app's image from its Dockerfile, labelled from the commit (OCI labels, /version)."""
        return await build_stage.build_image(self.ctx(), app.value, self._info(sha, version, created))

    # --- scan -------------------------------------------------------------

    @function
    def scan(
        self,
        image: Annotated[dagger.Container, Doc("the image to scan")],
        name: Annotated[str, Doc("a name for reports")] = "image",
        db: Annotated[
            dagger.Directory | None, Doc("Trivy cache dir holding db/trivy.db; default: the constructor's")
        ] = None,
        ignore_file: Annotated[dagger.File | None, Doc(".trivyignore to honour")] = None,
    ) -> TrivyScan:
        """Scan an image with Trivy; chain `report` or `gate`."""
        db = db if db is not None else self.trivy_db
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
        username: UsernameArg = "",
        password: PasswordArg = None,
    ) -> str:
        """Push with every tag of the commit; returns repository@sha256:digest."""
        tags = tags_for(Revision(sha, ref))
        return await publish(image, repository, tags, username, password)

    # --- stack and E2E ----------------------------------------------------

    @function
    @up
    async def stack(
        self,
        sha: Annotated[str, Doc("commit sha for the images' labels; default: 40 zeros (a local build)")] = "",
        origin: Annotated[
            str, Doc("where the browser reaches the router (the backend's CORS origin)")
        ] = "http://localhost:8080",
    ) -> dagger.Service:
        """The whole stack of the source (PostgreSQL, Redis, backend, frontend,
        nginx on port 8080): `dagger call stack up`."""
        info = stack_stage.stack_info(sha, self.source_url)
        return (await stack_stage.stack(self.ctx(), info, [origin])).router

    # Not `e2e`: the engine camel-cases every name with a capital after a
    # digit (`e2E`, even given name="e2e"), so the CLI would say `e-2-e`.
    @function(cache="never")
    async def end_to_end(
        self,
        base_url: Annotated[
            str, Doc("deployed URL to test (http(s)://HOST[:PORT]); empty: an ephemeral stack of the source")
        ] = "",
        sha: Annotated[
            str, Doc("the commit under test: named in the report, labels a stack's images (default 40 zeros)")
        ] = "",
    ) -> EndToEndRun:
        """The Playwright journeys (e2e/); chain `verdict` (fails naming the broken journeys) or `reports`."""
        if base_url:
            return await e2e_stage.run_e2e(self.ctx(), base_url, revision=sha)
        return await e2e_stage.run_e2e_on_stack(self.ctx(), stack_stage.stack_info(sha, self.source_url))

    # --- delivery ---------------------------------------------------------

    def _deployment(
        self,
        environment: Environment,
        target: dagger.File | None = None,
        app_env: dagger.Secret | None = None,
    ) -> Deployment:
        a = (self.docker_socket, self.docker_host, self.ssh_key, self.ssh_known_hosts)
        access = DockerAccess(
            *a, self.tls_ca, self.tls_cert, self.tls_key, self.pull_username, self.pull_password
        )
        return Deployment(self.ctx(), access, environment, target, app_env)

    @function(cache="never")
    async def deploy_staging(
        self,
        backend: DigestArg,
        frontend: DigestArg,
        sha: Annotated[str, Doc("the commit both images were built from (their revision label)")],
        approved_by: Annotated[str, Doc("who started the deploy, for the ledger")] = "",
        target: TargetArg = None,
        app_env: AppEnvArg = None,
    ) -> str:
        """Blue-green deploy to staging: migrations, health and smoke on the idle
        colour, router switch, verify; switched back by itself on failure."""
        return await self._deployment(Environment.staging, target, app_env).run(
            "deploy (staging)", "deploy", *digest_args(backend, frontend, sha, approved_by)
        )

    @function(cache="never")
    async def promote(
        self,
        backend: DigestArg,
        frontend: DigestArg,
        sha: PromotedShaArg,
        approve: Annotated[str, Doc("the manual approval: the same sha, typed by whoever approves")] = "",
        approved_by: Annotated[str, Doc("who approved, recorded in the ledger")] = "",
        target: TargetArg = None,
        app_env: AppEnvArg = None,
    ) -> str:
        """Production: PostgreSQL backup, then the same blue-green deploy as staging.
        Refused without an approval naming the sha."""
        who = check_approval(sha, approve, approved_by)
        return await self._deployment(Environment.production, target, app_env).run(
            "promote", "deploy", "--production", *digest_args(backend, frontend, sha, who)
        )

    @function(cache="never")
    async def rollback(
        self,
        environment: EnvironmentArg = Environment.production,
        approved_by: Annotated[str, Doc("who asked for it, for the ledger")] = "",
        target: TargetArg = None,
        app_env: AppEnvArg = None,
    ) -> str:
        """Back to the previous completed release: in seconds while its colour is warm, else
        redeployed from its digests (which needs app-env, as the deploy did)."""
        args = ["--approved-by", approved_by] if approved_by else []
        return await self._deployment(environment, target, app_env).run(
            f"rollback ({environment.value})", "rollback", *args
        )

    @function(cache="never")
    async def status(
        self,
        environment: EnvironmentArg = Environment.production,
        # Not `json`: `dagger call` has a --json flag of its own, and a
        # function argument of that name makes the CLI refuse the call.
        as_json: Annotated[bool, Doc("machine-readable (JSON)")] = False,
        target: TargetArg = None,
    ) -> str:
        """Live colour, digests, health, lock and last deploys of an environment."""
        args = ["--json"] if as_json else []
        return await self._deployment(environment, target).run(
            f"status ({environment.value})", "status", *args
        )

    @function(cache="never")
    async def smoke(
        self,
        base_url: Annotated[str, Doc("the deployed NEOSALE, e.g. https://staging.example.com")],
        sha: Annotated[str, Doc("the sha /version must report; empty: not checked")] = "",
        config: Annotated[dagger.File | None, Doc("neosale_smoke TOML changing the built-in checks")] = None,
    ) -> SmokeRun:
        """Smoke checks (health, ready, version, key routes, an asset, p95 budget);
        chain `verdict` or `reports`."""
        return await run_smoke(self.ctx(), base_url, sha, config)

    # --- the whole run ----------------------------------------------------

    # Not `pipeline`: the official CLI (0.20+) lists the main object's functions
    # as Query fields and hides Query fields named `pipeline` and `with`
    # (dagql/dagui/opts.go ShouldSkipFunction), so `dagger call pipeline`
    # could never work. tests/cli/test_cli.py notices the day that changes.
    @function(cache="never")
    async def run(
        self,
        sha: ShaArg,
        created: CreatedArg,
        ref: RefArg = "",
        version: VersionArg = "",
        registry: RegistryArg = "",
        username: UsernameArg = "",
        password: PasswordArg = None,
        severity: Annotated[Severity, Doc("lowest severity that fails the gate")] = Severity.HIGH,
        base_migrations: BaseMigrationsArg = None,
        end_to_end: Annotated[bool, Doc("E2E journeys on an ephemeral stack of this build")] = False,
        staging: Annotated[
            bool, Doc("deploy the published digests to staging (the docker host given), then smoke and E2E")
        ] = False,
        staging_url: Annotated[str, Doc("staging's public URL, for smoke and E2E after --staging")] = "",
        staging_target: TargetArg = None,
        app_env: AppEnvArg = None,
    ) -> PipelineRun:
        """checks (concurrent) → builds → Trivy gate → publish [→ staging → smoke] [→ E2E];
        returns the run's reports."""
        return await run_pipeline(
            self.ctx(),
            info=self._info(sha, version, created),
            ref=ref,
            registry=registry,
            username=username,
            password=password,
            trivy_db=self.trivy_db,
            severity=severity,
            base_migrations=base_migrations,
            delivery=plan_delivery(
                end_to_end=end_to_end,
                staging=self._deployment(Environment.staging, staging_target, app_env) if staging else None,
                staging_url=staging_url,
                registry=registry,
            ),
        )


__all__ = ["EndToEndRun", "Neosale", "ReportFormat", "SmokeRun", "TrivyScan"]
