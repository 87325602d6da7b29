"""The image builder's report: its summary line and its JSON."""

from __future__ import annotations

import json

from neosale_airgap.results import Failure, ImageResult, Report, Status


def test_summary_counts_each_status_and_failures_decide_ok() -> None:
    report = Report("build", "127.0.0.1:5000")
    report.images = [
        ImageResult("node", "r/node:22", Status.SKIPPED),
        ImageResult("nginx", "r/nginx:1", Status.BUILT),
        ImageResult("redis", "r/redis:7", Status.SKIPPED),
    ]
    assert report.summary() == "1 built, 2 skipped"
    assert report.ok
    report.images.append(ImageResult("trivy", "r/trivy:0", Status.FAILED, failure=Failure("inputs", "404")))
    assert report.summary() == "1 built, 1 failed, 2 skipped"
    assert not report.ok
    assert [r.name for r in report.failed] == ["trivy"]


def test_json_carries_statuses_as_plain_strings() -> None:
    report = Report("check", "127.0.0.1:5000", [ImageResult("node", "r/node:22", Status.PASSED, seconds=1.5)])
    doc = json.loads(report.to_json())
    assert doc["ok"] is True
    assert doc["images"] == [
        {
            "name": "node",
            "ref": "r/node:22",
            "status": "passed",
            "reason": "",
            "inputs": "",
            "digest": "",
            "failure": None,
            "seconds": 1.5,
        }
    ]
    assert list(doc) == ["command", "registry", "images", "seconds", "ok"]
