"""The Trivy scan of an image and its gate.

A Scan holds the image (as an OCI tarball, so Trivy needs no registry or
daemon) and the vulnerability DB; reports are Files and the gate raises with
the blocking list. Offline, the DB directory given is mounted as Trivy's
cache and never updated.
"""

from __future__ import annotations

import enum
from typing import Annotated

import dagger
from dagger import Doc, dag

from . import gate
from .context import run_tool
from .errors import StageError
from .gate import Severity
from .sdk import enum_type, function, object_type

CACHE = "/var/cache/trivy"
# Trivy makes no request of its own (every scan and the secret scan).
NO_NETWORK = ["--skip-version-check", "--disable-telemetry"]


def offline_flags(cache_dir: str) -> list[str]:
    """Flags for a scan that uses only the DB in `cache_dir` and makes no request."""
    return [
        "--cache-dir",
        cache_dir,
        "--skip-db-update",
        "--skip-java-db-update",
        "--skip-check-update",
        *NO_NETWORK,
    ]


OFFLINE = offline_flags(CACHE)

# The gate's severities as an enum of the module's API (`--severity HIGH`).
enum_type(Severity)


@enum_type
class ReportFormat(enum.Enum):
    """Trivy report formats."""

    JSON = "json"
    SARIF = "sarif"
    TABLE = "table"
    CYCLONEDX = "cyclonedx"


class Scan:
    """One image, one DB: reports in any format and the release gate.

    The image is scanned once, to JSON; the gate reads that report and the
    SARIF and table reports are converted from it offline (`trivy convert`),
    so a pipeline that wants the SARIF and the gate runs one scan per image.
    Only the CycloneDX SBOM, which lists every component, is a scan of its own.
    """

    def __init__(
        self,
        image: dagger.Container,
        name: str,
        db: dagger.Directory | None,
        trivy_image: str,
        ignore_file: dagger.File | None = None,
    ) -> None:
        self.image = image
        self.name = name
        self.db = db
        self.trivy_image = trivy_image
        self.ignore_file = ignore_file
        self._json: dagger.File | None = None

    def _trivy(self) -> dagger.Container:
        ctr = dag.container().from_(self.trivy_image).with_file("/scan/image.tar", self.image.as_tarball())
        if self.db is not None:
            ctr = ctr.with_directory(CACHE, self.db)
        if self.ignore_file is not None:
            ctr = ctr.with_file("/scan/.trivyignore", self.ignore_file)
        return ctr

    def _args(self, fmt: ReportFormat) -> list[str]:
        args = ["trivy", "image", "--input", "/scan/image.tar", "--format", fmt.value]
        # A CycloneDX SBOM lists components; the other formats report vulnerabilities.
        if fmt is not ReportFormat.CYCLONEDX:
            args += ["--scanners", "vuln"]
        if self.db is not None:
            args += OFFLINE
        if self.ignore_file is not None:
            args += ["--ignorefile", "/scan/.trivyignore"]
        return [*args, "--output", f"/scan/report.{fmt.value}"]

    def scanned(self) -> bool:
        """Whether the vulnerability scan ran (even when its gate failed)."""
        return self._json is not None

    async def _json_report(self) -> dagger.File:
        """The one vulnerability scan, kept for every later report and gate."""
        if self._json is None:
            if self.db is not None and not await self.db.glob("db/trivy.db"):
                raise StageError(
                    f"scan ({self.name})",
                    "the Trivy DB directory has no db/trivy.db: expected a Trivy cache directory "
                    "(what `trivy image --download-db-only --cache-dir DIR` fills)",
                )
            done = await run_tool(f"scan ({self.name})", self._trivy(), self._args(ReportFormat.JSON))
            self._json = done.file("/scan/report.json")
        return self._json

    async def report(self, fmt: ReportFormat) -> dagger.File:
        """The full report (every severity): the gate decides, the report informs."""
        if fmt is ReportFormat.CYCLONEDX:
            done = await run_tool(f"scan ({self.name})", self._trivy(), self._args(fmt))
            return done.file(f"/scan/report.{fmt.value}")
        report = await self._json_report()
        if fmt is ReportFormat.JSON:
            return report
        # No DB, no network: convert only renders the findings already in the JSON.
        ctr = dag.container().from_(self.trivy_image).with_file("/scan/report.json", report)
        args = ["trivy", "convert", "--format", fmt.value, "--output", f"/scan/report.{fmt.value}"]
        done = await run_tool(f"scan ({self.name})", ctr, [*args, "/scan/report.json"])
        return done.file(f"/scan/report.{fmt.value}")

    async def gate(self, severity: Severity = Severity.HIGH, ignore_unfixed: bool = True) -> str:
        """Fail with the list of blocking findings, or return the summary."""
        report = await (await self._json_report()).contents()
        result = gate.evaluate(report, severity.value, ignore_unfixed)
        if not result.passed:
            raise StageError(f"trivy gate ({self.name})", result.summary())
        return result.summary()


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
        severity: Annotated[Severity, Doc("lowest severity that blocks")] = Severity.HIGH,
        ignore_unfixed: Annotated[bool, Doc("findings without a fixed version do not block")] = True,
    ) -> str:
        """Fail with the blocking findings (ID, package, installed, fixed, severity)."""
        return await self._scan().gate(severity, ignore_unfixed)
