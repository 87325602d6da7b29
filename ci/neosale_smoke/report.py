"""The report as JUnit XML (CI test tabs), markdown (job summary) and JSON."""

from __future__ import annotations

import json
import os
import re
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import asdict
from pathlib import Path

from .model import CheckResult, Outcome, SmokeReport

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ICON = {Outcome.PASSED: "✅ pass", Outcome.FAILED: "❌ FAIL", Outcome.SKIPPED: "⏭️ skip"}


def _xml_text(text: str) -> str:
    return _XML_INVALID.sub("?", text)


def _attempt_log(check: CheckResult) -> str:
    lines = [f"url: {check.url}"]
    for a in check.attempts:
        if a.ok:
            lines.append(f"attempt {a.number}: ok in {a.elapsed_ms:.1f} ms: {a.reason}")
        else:
            status = f"HTTP {a.status_code}" if a.status_code is not None else "no HTTP answer"
            lines.append(f"attempt {a.number}: failed in {a.elapsed_ms:.1f} ms ({status}): {a.reason}")
    lines.extend(f"{key}: {value}" for key, value in check.details.items())
    return "\n".join(lines)


def to_junit(report: SmokeReport) -> str:
    """One testsuite, one testcase per check; a failure's message is its reason."""
    counts = {
        "tests": str(len(report.checks)),
        "failures": str(report.count(Outcome.FAILED)),
        "errors": "0",
        "skipped": str(report.count(Outcome.SKIPPED)),
        "time": f"{report.duration_ms / 1000:.3f}",
    }
    root = ET.Element("testsuites", {"name": "neosale-smoke", **counts})
    suite = ET.SubElement(
        root, "testsuite", {"name": "neosale-smoke", **counts, "timestamp": report.started_at}
    )
    props = ET.SubElement(suite, "properties")
    ET.SubElement(props, "property", {"name": "base_url", "value": report.base_url})
    if report.expect_sha is not None:
        ET.SubElement(props, "property", {"name": "expect_sha", "value": report.expect_sha})
    for check in report.checks:
        case = ET.SubElement(
            suite,
            "testcase",
            {"classname": "neosale_smoke", "name": check.name, "time": f"{check.duration_ms / 1000:.3f}"},
        )
        if check.outcome is Outcome.FAILED:
            failure = ET.SubElement(
                case, "failure", {"message": _xml_text(check.reason), "type": "SmokeCheckFailed"}
            )
            failure.text = _xml_text(_attempt_log(check))
        elif check.outcome is Outcome.SKIPPED:
            ET.SubElement(case, "skipped", {"message": _xml_text(check.reason)})
        else:
            ET.SubElement(case, "system-out").text = _xml_text(_attempt_log(check))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("`", "'")


def to_markdown(report: SmokeReport) -> str:
    failed = report.count(Outcome.FAILED)
    total = len(report.checks)
    if failed:
        title = f"## ❌ NEOSALE smoke: {failed} of {total} checks failed"
    else:
        title = f"## ✅ NEOSALE smoke: passed ({report.count(Outcome.PASSED)} passed)"
    sha = f" · expected sha `{report.expect_sha}`" if report.expect_sha else ""
    lines = [
        title,
        "",
        f"Target `{report.base_url}`{sha} · {report.started_at} · {report.duration_ms / 1000:.1f} s",
        "",
        "| Check | Result | URL | Attempts | Time | Detail |",
        "|---|---|---|---:|---:|---|",
    ]
    for c in report.checks:
        lines.append(
            f"| `{c.name}` | {_ICON[c.outcome]} | {_cell(c.url)} | {len(c.attempts)} "
            f"| {c.duration_ms:.0f} ms | {_cell(c.reason)} |"
        )
    if report.count(Outcome.SKIPPED):
        lines += ["", "Skipped checks did not run: they verify nothing about this deployment."]
    return "\n".join(lines) + "\n"


def to_json(report: SmokeReport) -> str:
    data = {
        "ok": report.ok,
        "summary": {outcome.value: report.count(outcome) for outcome in Outcome},
        **asdict(report),
    }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_files(contents: dict[Path, str]) -> None:
    """Write every file or none: each goes to a temporary sibling first, then all are renamed."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in contents.items():
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            staged.append((Path(name), path))
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
        for tmp, path in staged:
            os.replace(tmp, path)
    finally:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
