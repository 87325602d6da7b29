"""Offline scans on the host with the locally built trivy and DB."""

from __future__ import annotations

import json
import secrets
import string
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from neosale_airgap.trivy import vulnerabilities

Scan = Callable[..., subprocess.CompletedProcess[str]]
NpmProject = Callable[[Path, str | None], Path]


def _report(scan: Scan, *args: str) -> dict[str, Any]:
    res = scan(*args, "--format", "json")
    assert res.returncode == 0, res.stderr
    report: dict[str, Any] = json.loads(res.stdout)
    return report


def _by_id(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["VulnerabilityID"]: v for v in vulnerabilities(report)}


@pytest.mark.parametrize("mode", ["fs", "rootfs"])
def test_lodash_4_17_15_has_cve_2020_8203(trivy_scan: Scan, lodash_4_17_15: Path, mode: str) -> None:
    # fs reads package-lock.json, rootfs reads node_modules/lodash/package.json.
    found = _by_id(_report(trivy_scan, mode, "--scanners", "vuln", str(lodash_4_17_15)))
    vuln = found["CVE-2020-8203"]
    assert vuln["PkgName"] == "lodash"
    assert vuln["InstalledVersion"] == "4.17.15"
    assert vuln["Severity"] == "HIGH"
    assert vuln["FixedVersion"] == "4.17.19"
    assert vuln["Title"] == "Prototype Pollution in lodash"
    assert "GHSA-p6mc-m468-83gw" in vuln["VendorIDs"]
    assert vuln["CVSS"]["ghsa"]["V3Vector"] == "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:N/I:H/A:H"
    # No PublishedDate: for CVE ids trivy-db takes it from NVD only, not built here.
    # The second fixture advisory: command injection, fixed in 4.17.21.
    assert found["CVE-2021-23337"]["FixedVersion"] == "4.17.21"
    assert found["CVE-2021-23337"]["Severity"] == "HIGH"


@pytest.mark.parametrize("lodash", ["4.17.21", None], ids=["lodash-4.17.21", "no-deps"])
def test_clean_project_has_no_lodash_cve(
    trivy_scan: Scan, npm_project: NpmProject, tmp_path: Path, lodash: str | None
) -> None:
    project = npm_project(tmp_path / "web", lodash)
    report = _report(trivy_scan, "fs", "--scanners", "vuln", str(project))
    assert vulnerabilities(report) == []


def test_version_between_fixes_has_only_the_later_cve(
    trivy_scan: Scan, npm_project: NpmProject, tmp_path: Path
) -> None:
    # 4.17.20 is past the CVE-2020-8203 fix but before the CVE-2021-23337 one:
    # proves the ranges come from the advisories, not a blanket package match.
    project = npm_project(tmp_path / "web", "4.17.20")
    found = _by_id(_report(trivy_scan, "fs", "--scanners", "vuln", str(project)))
    assert set(found) == {"CVE-2021-23337"}


def _fake(alphabet: str, n: int) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(n))


def test_secret_scan_finds_planted_keys(trivy_scan: Scan, tmp_path: Path) -> None:
    # Built here so that nothing secret-shaped is committed; the directory
    # names avoid "test" and "example", which trivy's allow rules skip.
    key_id = "AKIA" + _fake(string.ascii_uppercase + "234567", 16)
    secret_key = _fake(string.ascii_letters + string.digits + "/+", 40)
    pat = "ghp_" + _fake(string.ascii_letters + string.digits, 36)
    app = tmp_path / "app"
    (app / "deploy").mkdir(parents=True)
    (app / "deploy" / "prod.env").write_text(
        f"AWS_ACCESS_KEY_ID={key_id}\nAWS_SECRET_ACCESS_KEY={secret_key}\nGITHUB_TOKEN={pat}\n"
    )
    (app / "main.py").write_text("print('hello')\n")
    report = _report(trivy_scan, "fs", "--scanners", "secret", str(app))
    found = {
        (result["Target"], s["RuleID"])
        for result in report.get("Results") or []
        for s in result.get("Secrets") or []
    }
    assert ("deploy/prod.env", "aws-access-key-id") in found
    assert ("deploy/prod.env", "aws-secret-access-key") in found
    assert ("deploy/prod.env", "github-pat") in found
    assert all(target == "deploy/prod.env" for target, _ in found)
    assert key_id not in json.dumps(report)  # trivy masks what it reports


def test_exit_code_follows_severity_threshold(trivy_scan: Scan, lodash_4_17_15: Path) -> None:
    base = ("fs", "--scanners", "vuln", "--exit-code", "1", str(lodash_4_17_15))
    critical = trivy_scan(*base, "--severity", "CRITICAL")
    assert critical.returncode == 0, critical.stderr  # both lodash CVEs are HIGH
    high = trivy_scan(*base, "--severity", "HIGH")
    assert high.returncode == 1, high.stderr


def test_sarif_report(trivy_scan: Scan, lodash_4_17_15: Path) -> None:
    res = trivy_scan("fs", "--scanners", "vuln", "--format", "sarif", str(lodash_4_17_15))
    assert res.returncode == 0, res.stderr
    sarif = json.loads(res.stdout)
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    assert run["tool"]["driver"]["name"] == "Trivy"
    rule_ids = {rule["id"] for rule in run["tool"]["driver"]["rules"]}
    assert {"CVE-2020-8203", "CVE-2021-23337"} <= rule_ids
    results = {r["ruleId"]: r for r in run["results"]}
    assert results["CVE-2020-8203"]["level"] == "error"  # SARIF's level for HIGH
    assert "4.17.19" in results["CVE-2020-8203"]["message"]["text"]
