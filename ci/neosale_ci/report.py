"""The run report: what each stage did, as markdown (for $GITHUB_STEP_SUMMARY) and JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .publish import PublishedImage

Status = Literal["passed", "failed", "skipped"]
_ICON = {"passed": "✅", "failed": "❌", "skipped": "⏭️"}


@dataclass
class StageResult:
    name: str
    status: Status
    seconds: float
    detail: str = ""


@dataclass
class RunReport:
    revision: str
    stages: list[StageResult] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    images: list[PublishedImage] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(s.status != "failed" for s in self.stages)

    @property
    def failed_stage(self) -> StageResult | None:
        return next((s for s in self.stages if s.status == "failed"), None)

    def add(self, stage: StageResult) -> None:
        self.stages.append(stage)

    def to_json(self) -> str:
        data = {
            "revision": self.revision,
            "passed": self.passed,
            "failed_stage": self.failed_stage.name if self.failed_stage else None,
            "stages": [asdict(s) for s in self.stages],
            "artifacts": self.artifacts,
            "images": self.images_block(),
        }
        return json.dumps(data, indent=2, ensure_ascii=False)

    def images_block(self) -> dict[str, dict[str, object]]:
        """report.json's `images`: each app's published image, by app name."""
        return {
            img.app.value: {
                "repository": img.repository,
                "digest": img.digest,
                "tags": list(img.tags),
                "ref": img.ref(),
            }
            for img in self.images
        }

    def to_markdown(self) -> str:
        verdict = (
            "passed"
            if self.passed
            else f"failed at **{self.failed_stage.name}**"
            if self.failed_stage
            else ""
        )
        lines = [
            f"## NeoSale CI — `{self.revision[:12]}` {verdict}",
            "",
            "| stage | result | time |",
            "|---|---|---|",
        ]
        for s in self.stages:
            lines.append(f"| {s.name} | {_ICON[s.status]} {s.status} | {s.seconds:.1f}s |")
        if self.images:
            lines += ["", "### Images", ""]
            lines += [f"- **{i.app.value}**: `{i.ref()}` (tags: {', '.join(i.tags)})" for i in self.images]
        if self.artifacts:
            lines += ["", "### Artifacts", ""]
            lines += [f"- **{k}**: `{v}`" for k, v in self.artifacts.items()]
        failed = [s for s in self.stages if s.status == "failed" and s.detail]
        for s in failed:
            lines += ["", f"### {s.name} failed", "", "```", s.detail.strip()[-4000:], "```"]
        return "\n".join(lines) + "\n"
