"""The official `dagger` CLI against the local engine, as a user runs it: the
module loaded from a checkout, its image arguments from the generated .env."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from neosale_airgap.env import REPO_ROOT

Dagger = Callable[..., subprocess.CompletedProcess[str]]
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.fixture(scope="session")
def cli_env(engine: dict[str, str]) -> dict[str, str]:
    """Engine with its builtin SDK content, registry, image set, Trivy DB, .env:
    what scripts/airgap-up.sh brings up (a no-op when all is there)."""
    subprocess.run(["bash", str(REPO_ROOT / "scripts" / "airgap-up.sh")], check=True, env=engine)
    return engine


def run_dagger(
    env: Mapping[str, str], args: Sequence[str], *, cwd: Path = REPO_ROOT, timeout: float = 1200
) -> subprocess.CompletedProcess[str]:
    """`dagger --progress plain ARGS` in `cwd`; stdout and stderr as text."""
    cli = Path(env["NEOSALE_PREFIX"]) / "bin" / "dagger"
    res = subprocess.run(
        [str(cli), "--progress", "plain", *args],
        cwd=cwd,
        env={**env, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    # Some lines keep their colours even so: tests read the text.
    out, err = ANSI.sub("", res.stdout), ANSI.sub("", res.stderr)
    return subprocess.CompletedProcess(res.args, res.returncode, out, err)


@pytest.fixture(scope="session")
def dagger(cli_env: dict[str, str]) -> Dagger:
    def call(
        *args: str, cwd: Path = REPO_ROOT, timeout: float = 1200, env_extra: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_dagger({**cli_env, **(env_extra or {})}, args, cwd=cwd, timeout=timeout)

    return call


def copy_checkout(dest: Path) -> Path:
    """The tracked files of this checkout (as committed or edited) plus the
    generated .env: a second checkout a test may change."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        src = REPO_ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    shutil.copy2(REPO_ROOT / ".env", dest / ".env")
    return dest
