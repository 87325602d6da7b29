"""actionlint (built from the Go module proxy by scripts/actionlint.sh) and
zizmor (a dev dependency) find nothing in .github/workflows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.workflows.gha import REPO_ROOT, WORKFLOW_DIR


def test_actionlint_reports_nothing() -> None:
    # shellcheck, when installed, also checks every run: script.
    out = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "actionlint.sh")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, f"actionlint:\n{out.stdout}\n{out.stderr[-2000:]}"
    assert out.stdout.strip() == ""


def test_zizmor_reports_nothing() -> None:
    zizmor = Path(sys.executable).parent / "zizmor"
    assert zizmor.exists(), "zizmor is a dev dependency: .venv/bin/pip install -e '.[dev]'"
    out = subprocess.run(
        [str(zizmor), "--offline", "--format", "json", str(WORKFLOW_DIR)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    findings = json.loads(out.stdout or "[]")
    assert findings == [], json.dumps(findings, indent=1)[:4000]
    assert out.returncode == 0, out.stderr[-2000:]
