"""A workflow run by nektos/act through scripts/rehearse.sh, and what it left behind."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.workflows.gha import REPO_ROOT

SCRIPTS = REPO_ROOT / "scripts"


@dataclass(frozen=True)
class Rehearsal:
    returncode: int
    out: Path
    outcome: dict[str, Any]
    log: str

    def act_lines(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log.splitlines():
            try:
                lines.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return lines

    def results(self, job: str) -> list[tuple[str, str]]:
        """Each step of `job` with its result, in order."""
        return [(s["step"], s["result"]) for s in self.outcome["steps"] if s["job"] == job]


def rehearse(
    workflow: str, event: str, out: Path, env: dict[str, str] | None = None, **inputs: str
) -> Rehearsal:
    """scripts/rehearse.sh WORKFLOW EVENT [INPUT=VALUE...]; its outcome, whatever act's exit code."""
    argv = ["bash", str(SCRIPTS / "rehearse.sh"), workflow, event, *(f"{k}={v}" for k, v in inputs.items())]
    proc = subprocess.run(
        argv,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {}), "NEOSALE_REHEARSAL_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=2400,
    )
    outcome_file = out / "rehearsal.json"
    assert outcome_file.is_file(), f"no rehearsal.json (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
    return Rehearsal(
        proc.returncode, out, json.loads(outcome_file.read_text()), (out / "act.jsonl").read_text()
    )


def github_only(step: dict[str, Any]) -> bool:
    """A step the workflows skip under act: only GitHub has what it needs."""
    return "!env.ACT" in str(step.get("if", ""))


def act_only(step: dict[str, Any]) -> bool:
    """A step that runs under act alone, in place of a GitHub-only one."""
    condition = str(step.get("if", ""))
    return "env.ACT" in condition and not github_only(step)
