from __future__ import annotations

import json
from typing import Any

import pytest

from neosale_ci.gate import GateConfigError, evaluate, findings


def report(*vulns: dict[str, Any]) -> str:
    return json.dumps(
        {
            "SchemaVersion": 2,
            "ArtifactName": "img",
            "Results": [
                {"Target": "app/package-lock.json", "Vulnerabilities": list(vulns)},
                {"Target": "os"},  # a result without vulnerabilities has no key
            ],
        }
    )


LODASH = {
    "VulnerabilityID": "CVE-2020-8203",
    "PkgName": "lodash",
    "InstalledVersion": "4.17.15",
    "FixedVersion": "4.17.19",
    "Severity": "HIGH",
}
UNFIXED_CRIT = {
    "VulnerabilityID": "CVE-2099-0001",
    "PkgName": "x",
    "InstalledVersion": "1",
    "Severity": "CRITICAL",
}
LOW = {**LODASH, "VulnerabilityID": "CVE-2000-1", "Severity": "LOW"}


def test_high_with_fix_blocks_and_is_listed() -> None:
    result = evaluate(report(LODASH, LOW), "HIGH")
    assert not result.passed
    assert [f.vulnerability_id for f in result.blocking] == ["CVE-2020-8203"]
    text = result.summary()
    assert "CVE-2020-8203  lodash  installed 4.17.15  fixed 4.17.19  HIGH" in text


def test_threshold_above_finding_passes() -> None:
    assert evaluate(report(LODASH), "CRITICAL").passed


def test_unfixed_ignored_only_when_asked() -> None:
    assert evaluate(report(UNFIXED_CRIT), "HIGH", ignore_unfixed=True).passed
    blocked = evaluate(report(UNFIXED_CRIT), "HIGH", ignore_unfixed=False)
    assert "no fix yet" in blocked.summary()


def test_worst_first() -> None:
    fixed_crit = {**UNFIXED_CRIT, "FixedVersion": "2"}
    assert [f.severity for f in findings(json.loads(report(LOW, LODASH, fixed_crit)))] == [
        "CRITICAL",
        "HIGH",
        "LOW",
    ]


def test_bad_threshold_names_value_and_choices() -> None:
    with pytest.raises(GateConfigError, match="'SEVERE' is not one of UNKNOWN, LOW, MEDIUM, HIGH, CRITICAL"):
        evaluate(report(), "SEVERE")


def test_wrong_schema_is_refused() -> None:
    with pytest.raises(ValueError, match="schema 1"):
        evaluate(json.dumps({"SchemaVersion": 1}))
