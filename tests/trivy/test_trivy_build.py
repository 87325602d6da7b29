"""airgap/trivy/build.sh: pinned build, stdout contract, DB keyed on the advisory files."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

from neosale_airgap.env import airgap_env
from neosale_airgap.trivy import (
    ADVISORIES,
    BUILD_SH,
    TrivyBuild,
    binary_path,
    vulnerabilities,
)
from neosale_ci.scan import offline_flags

NpmProject = Callable[[Path, str | None], Path]


def _build_sh(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = env or airgap_env()
    return subprocess.run([str(BUILD_SH), *args], env=env, capture_output=True, text=True, check=True)


def test_offline_flags() -> None:
    assert offline_flags("/c") == [
        "--cache-dir", "/c", "--skip-db-update", "--skip-java-db-update",
        "--skip-check-update", "--skip-version-check", "--disable-telemetry",
    ]  # fmt: skip


def test_binary_reports_pinned_version(trivy_build: TrivyBuild) -> None:
    assert trivy_build.binary == binary_path("0.74.0")
    out = subprocess.run([str(trivy_build.binary), "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[0] == "Version: 0.74.0"


def test_rerun_is_a_noop_and_last_line_is_the_binary(trivy_build: TrivyBuild) -> None:
    before = trivy_build.binary.stat().st_mtime_ns
    res = _build_sh()
    assert res.stdout.splitlines()[-1] == str(trivy_build.binary)
    assert "up to date" in res.stderr
    assert trivy_build.binary.stat().st_mtime_ns == before


def test_db_layout_and_tarball(trivy_build: TrivyBuild) -> None:
    res = _build_sh("db")
    assert res.stdout.splitlines()[-1] == str(trivy_build.cache_dir)
    meta = json.loads((trivy_build.db_dir / "metadata.json").read_text())
    assert meta["Version"] == 2
    assert (trivy_build.db_dir / "trivy.db").stat().st_size > 0
    with tarfile.open(trivy_build.db_tarball) as tar:
        assert sorted(tar.getnames()) == ["metadata.json", "trivy.db"]


def test_db_is_rebuilt_only_when_advisories_change(
    trivy_build: TrivyBuild, npm_project: NpmProject, tmp_path: Path
) -> None:
    advisories = tmp_path / "advisories"
    shutil.copytree(ADVISORIES, advisories)
    cache = tmp_path / "db-cache"
    env = {**airgap_env(), "NEOSALE_TRIVY_ADVISORIES": str(advisories), "NEOSALE_TRIVY_DB_CACHE": str(cache)}

    first = _build_sh("db", env=env)
    assert first.stdout.splitlines()[-1] == str(cache)
    assert "DB built" in first.stderr
    assert "DB up to date" in _build_sh("db", env=env).stderr

    # Drop the command-injection advisory: the DB must follow the files.
    shutil.rmtree(next(advisories.rglob("GHSA-35jh-r3h4-6jhm")))
    assert "DB built" in _build_sh("db", env=env).stderr
    project = npm_project(tmp_path / "web", "4.17.15")
    res = subprocess.run(
        [str(trivy_build.binary), "fs", "--scanners", "vuln", "--format", "json", str(project),
         *offline_flags(str(cache))],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    assert {v["VulnerabilityID"] for v in vulnerabilities(json.loads(res.stdout))} == {"CVE-2020-8203"}
