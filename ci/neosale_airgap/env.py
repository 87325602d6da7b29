"""The client environment, read from airgap/env.sh so shell and Python never disagree."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ENV_SH = REPO_ROOT / "airgap" / "env.sh"

# Variables env.sh owns; anything else in the sourced shell is ignored.
_PREFIXES = ("DAGGER_", "_EXPERIMENTAL_DAGGER_", "NEOSALE_", "DO_NOT_TRACK", "GO")


def airgap_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """Return `base` (default: os.environ) plus what airgap/env.sh exports."""
    base = dict(os.environ if base is None else base)
    out = subprocess.run(
        ["bash", "-c", f'. "{ENV_SH}" && env -0'],
        env=base,
        check=True,
        capture_output=True,
    ).stdout
    for entry in out.split(b"\0"):
        key, sep, value = entry.decode().partition("=")
        if sep and key.startswith(_PREFIXES):
            base[key] = value
    return base


def apply_airgap_env() -> dict[str, str]:
    """Export the air-gapped client environment into this process."""
    env = airgap_env()
    os.environ.update(env)
    return env
