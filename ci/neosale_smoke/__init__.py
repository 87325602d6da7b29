"""NEOSALE post-deploy smoke runner: plain HTTP checks (httpx), reports, exit codes.

Library use: `report = await run_smoke(load_config(base_url=..., backend_url=..., expect_sha=...))`,
or `run_smoke_sync` without an event loop; `report.ok` decides a rollback.
"""

from .config import SmokeConfig, config_from_mapping, load_config
from .defaults import DEFAULT_CHECKS
from .model import Attempt, CheckResult, Outcome, SmokeReport
from .report import to_json, to_junit, to_markdown
from .runner import run_smoke, run_smoke_sync
from .spec import CheckSpec, ConfigError, Kind, RetryOverride, RetryPolicy, Target

__all__ = [
    "DEFAULT_CHECKS",
    "Attempt",
    "CheckResult",
    "CheckSpec",
    "ConfigError",
    "Kind",
    "Outcome",
    "RetryOverride",
    "RetryPolicy",
    "SmokeConfig",
    "SmokeReport",
    "Target",
    "config_from_mapping",
    "load_config",
    "run_smoke",
    "run_smoke_sync",
    "to_json",
    "to_junit",
    "to_markdown",
]
