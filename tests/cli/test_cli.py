"""The module through the official `dagger` CLI, the front door users and the
workflows take: `dagger functions`, `dagger check`, `dagger call`, against the
local engine with its builtin SDK content and the stand-ins from .env."""

from __future__ import annotations

import inspect
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from neosale_airgap.env import REPO_ROOT, airgap_env
from neosale_ci import Neosale
from tests.cli.conftest import Dagger, copy_checkout
from tests.module_api import kebab

pytestmark = pytest.mark.engine

CHECKS = {
    "lint",
    "typecheck",
    "unit-test",
    "integration-test",
    "dockerfile-lint",
    "secret-scan",
    "migration-safety",
}


def module_functions() -> set[str]:
    """Every function of the main object, as the CLI names them."""
    return {
        name.replace("_", "-")
        for name, member in inspect.getmembers(Neosale)
        if hasattr(member, "__dagger_function__")  # set by @function
    }


def test_functions_lists_every_function_with_its_description(dagger: Dagger) -> None:
    res = dagger("functions")
    assert res.returncode == 0, res.stderr[-3000:]
    listed = dict(
        (m.group(1), m.group(2).strip())
        for m in re.finditer(r"^([a-z][a-z0-9-]*)\s{2,}(.*)$", res.stdout, re.M)
    )
    want = module_functions()
    assert want, "no @function found on Neosale"
    assert want <= set(listed), f"not listed: {want - set(listed)}"
    assert all(listed[name] for name in want), "a function without a description"
    # The CLI skips the core `with` field; none of ours.
    skipped = re.search(r"Skipped \d+ function\(s\) with unsupported types: (.*)", res.stdout + res.stderr)
    hidden = {n.strip() for n in skipped.group(1).split(",")} if skipped else set()
    assert not hidden & want, f"hidden by the CLI: {hidden & want}"


def test_the_pinned_cli_still_hides_pipeline() -> None:
    """Why the whole run is `run`: the pinned CLI skips Query fields on a fixed
    list, which names `pipeline`. When a version bump drops it, this fails:
    then `dagger call pipeline` could be offered again."""
    opts = Path(airgap_env()["NEOSALE_DAGGER_TREE"]) / "dagql" / "dagui" / "opts.go"
    source = opts.read_text()
    query = re.search(r'"Query": \{(.*?)\n\t\t\},', source, re.S)
    assert query, f"{opts}: ShouldSkipFunction's Query list moved; read it again"
    hidden = set(re.findall(r'"(\w+)"', query.group(1)))
    assert "pipeline" in hidden
    assert not {kebab(n) for n in hidden} & module_functions(), "a module function the CLI hides"


def test_check_runs_every_check_and_passes(dagger: Dagger) -> None:
    listed = dagger("check", "-l")
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert set(re.findall(r"^(?:neosale:)?([a-z-]+)\b", listed.stdout, re.M)) >= CHECKS
    res = dagger("check")
    assert res.returncode == 0, (res.stdout + res.stderr)[-5000:]


def test_check_names_a_planted_lint_error(dagger: Dagger, tmp_path: Path) -> None:
    repo = copy_checkout(tmp_path)
    app = repo / "backend" / "src" / "app.ts"
    app.write_text(app.read_text() + '\nconsole.log("planted");\n')
    res = dagger("check", "lint", cwd=repo)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "lint" in out
    assert "no-console" in out  # ESLint's own message: rule and file
    assert "src/app.ts" in out


# uv's own lines when `uv sync` really runs (a cached exec prints nothing).
UV_SYNC_RAN = re.compile(r"\| (?:Installed|Uninstalled|Prepared) \d+ packages? in ")


def test_a_frontend_change_does_not_reinstall_the_module(dagger: Dagger, tmp_path: Path) -> None:
    """The runtime installs the module from its trimmed source (dagger.json
    include) with uv.lock: after a change under frontend/ the engine serves
    that install from its cache (uv prints nothing), while a change to the
    module's own code runs it again (uv's lines appear)."""
    repo = copy_checkout(tmp_path)
    assert dagger("functions", cwd=repo).returncode == 0
    page = next((repo / "frontend" / "src").rglob("*.tsx"))
    page.write_text(page.read_text() + "\n// changed\n")
    # -vvv: the progress log shows the module load's inner steps and their output.
    after_frontend = dagger("-vvv", "functions", cwd=repo)
    assert after_frontend.returncode == 0, after_frontend.stderr[-3000:]
    assert not UV_SYNC_RAN.search(after_frontend.stderr), "uv sync ran after a frontend change"
    init = repo / "ci" / "neosale_ci" / "__init__.py"
    init.write_text(init.read_text() + "\n# changed\n")
    after_module = dagger("-vvv", "functions", cwd=repo)
    assert after_module.returncode == 0, after_module.stderr[-3000:]
    assert UV_SYNC_RAN.search(after_module.stderr), "no uv sync after a module change: the check sees nothing"


def test_the_runtime_install_is_locked(tmp_path: Path) -> None:
    """uv.lock is in the module source and current for pyproject.toml and the
    engine's bundled SDK, so the runtime's `uv lock` changes nothing and its
    `uv sync` installs exactly what is locked."""
    assert '"uv.lock"' in (REPO_ROOT / "dagger.json").read_text()
    env = airgap_env()
    shutil.copy2(REPO_ROOT / "pyproject.toml", tmp_path)
    shutil.copy2(REPO_ROOT / "uv.lock", tmp_path)
    # What the runtime vendors into ./sdk: the SDK of the pinned tree.
    shutil.copytree(Path(env["NEOSALE_DAGGER_TREE"]) / "sdk" / "python", tmp_path / "sdk")
    res = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "uv"), "lock", "--locked", "--offline"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "warning" not in res.stderr.lower(), res.stderr


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["status", "--environment", "qa"], "qa"),
        (["run", "--sha", "a" * 40, "--created", "2026-01-01T00:00:00Z", "--severity", "SEVERE"], "SEVERE"),
    ],
)
def test_an_enum_argument_outside_its_values_is_refused_by_the_cli(
    dagger: Dagger, args: list[str], named: str
) -> None:
    done = dagger("call", *args)
    assert done.returncode != 0
    error = next(line for line in done.stderr.splitlines() if line.startswith("Error:"))
    assert named in error, done.stderr


def test_no_function_argument_shadows_a_flag_of_dagger_call(dagger: Dagger) -> None:
    # A function argument named like one of the CLI's own flags (--json,
    # --output) makes `dagger call FN` refuse every call of that function.
    help_text = dagger("call", "--help").stdout
    own = help_text[help_text.index("OPTIONS") :]
    cli_flags = set(re.findall(r"^\s+(?:-\w, )?--([a-z][a-z0-9-]*)", own, re.M))
    assert {"json", "output", "mod"} <= cli_flags, own
    clashes = {
        f"{fn.replace('_', '-')} --{arg.replace('_', '-')}"
        for fn, member in inspect.getmembers(Neosale)
        if hasattr(member, "__dagger_function__")
        for arg in inspect.signature(member).parameters
        if arg.replace("_", "-") in cli_flags
    }
    assert clashes == set()
