"""The Trivy gate: which findings of a JSON report block a release.

Trivy itself applies `.trivyignore`; this module decides pass/fail from the
report so the failure message lists exactly what blocks (ID, package,
installed, fixed, severity), sorted worst first.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any


class Severity(enum.Enum):
    """Trivy's severities, lowest first: the gate blocks at the one given and above."""

    UNKNOWN = "UNKNOWN"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"
    CRITICAL = "CRITICAL"


SEVERITIES = tuple(s.value for s in Severity)


class GateConfigError(ValueError):
    """A gate setting that makes no sense."""


@dataclass(frozen=True, order=True)
class Finding:
    rank: int  # first, so sorting puts CRITICAL first (negated)
    vulnerability_id: str
    package: str
    installed: str
    fixed: str
    severity: str
    target: str
    title: str = ""

    def line(self) -> str:
        fixed = self.fixed or "no fix yet"
        return (
            f"{self.vulnerability_id}  {self.package}  installed {self.installed}  "
            f"fixed {fixed}  {self.severity}  ({self.target})"
        )


@dataclass(frozen=True)
class GateResult:
    passed: bool
    blocking: list[Finding]
    total: int
    threshold: str
    ignore_unfixed: bool

    def summary(self) -> str:
        if self.passed:
            return (
                f"Trivy gate passed: no finding at or above {self.threshold}"
                f"{' with a fix' if self.ignore_unfixed else ''} ({self.total} findings in all)"
            )
        head = (
            f"Trivy gate failed: {len(self.blocking)} finding(s) at or above {self.threshold}"
            f"{' with a fix available' if self.ignore_unfixed else ''}:"
        )
        return "\n".join([head, *("  " + f.line() for f in self.blocking)])


def normalize_severity(value: str) -> str:
    sev = value.strip().upper()
    if sev not in SEVERITIES:
        raise GateConfigError(f"severity {value!r} is not one of {', '.join(SEVERITIES)}")
    return sev


def findings(report: dict[str, Any]) -> list[Finding]:
    """Every vulnerability in a Trivy JSON report (SchemaVersion 2)."""
    if report.get("SchemaVersion") != 2:
        raise ValueError(f"unsupported Trivy report schema {report.get('SchemaVersion')!r}, expected 2")
    out: list[Finding] = []
    for result in report.get("Results") or []:
        for v in result.get("Vulnerabilities") or []:
            sev = str(v.get("Severity", "UNKNOWN")).upper()
            out.append(
                Finding(
                    rank=-SEVERITIES.index(sev) if sev in SEVERITIES else 0,
                    vulnerability_id=str(v["VulnerabilityID"]),
                    package=str(v.get("PkgName", "")),
                    installed=str(v.get("InstalledVersion", "")),
                    fixed=str(v.get("FixedVersion", "")),
                    severity=sev,
                    target=str(result.get("Target", "")),
                    title=str(v.get("Title", "")),
                )
            )
    return sorted(out)


def evaluate(report_json: str, threshold: str = "HIGH", ignore_unfixed: bool = True) -> GateResult:
    limit = SEVERITIES.index(normalize_severity(threshold))
    all_findings = findings(json.loads(report_json))
    blocking = [
        f
        for f in all_findings
        if f.severity in SEVERITIES
        and SEVERITIES.index(f.severity) >= limit
        and not (ignore_unfixed and not f.fixed)
    ]
    return GateResult(not blocking, blocking, len(all_findings), SEVERITIES[limit], ignore_unfixed)
