"""Errors the pipeline raises with the tool's own words in them."""

from __future__ import annotations


class StageError(Exception):
    """A stage failed; the message names the stage and carries the tool output."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"{stage}: {message}")
        self.stage = stage
        self.message = message
