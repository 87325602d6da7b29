"""Trivy inside the local Dagger engine: binary, DB and sources mounted, no download."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import dagger
import pytest
from dagger import dag

from neosale_airgap.oci import ImageConfig, rootfs_to_oci
from neosale_airgap.trivy import CONTAINER_CACHE_DIR, TrivyBuild, vulnerabilities
from neosale_ci.scan import offline_flags

pytestmark = [pytest.mark.engine, pytest.mark.anyio]

NpmProject = Callable[[Path, str | None], Path]


@pytest.fixture(scope="module")
def base_oci(rootfs_tar: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("oci") / "bookworm.tar"
    rootfs_to_oci(rootfs_tar, out, ImageConfig(), "offline/debian:bookworm")
    return out


def _scanner(base_oci: Path, trivy_build: TrivyBuild, project: Path) -> dagger.Container:
    return (
        dag.container()
        .import_(dag.host().file(str(base_oci)))
        .with_file("/usr/local/bin/trivy", dag.host().file(str(trivy_build.binary)), permissions=0o755)
        .with_directory(CONTAINER_CACHE_DIR, dag.host().directory(str(trivy_build.cache_dir)))
        .with_directory("/src", dag.host().directory(str(project)))
    )


async def test_trivy_fs_in_engine_reports_lodash_cve(
    dag_client: object,
    base_oci: Path,
    trivy_build: TrivyBuild,
    npm_project: NpmProject,
    tmp_path: Path,
) -> None:
    project = npm_project(tmp_path / "web", "4.17.15")
    scan = ["trivy", "fs", "--scanners", "vuln", "--format", "json", *offline_flags(CONTAINER_CACHE_DIR)]
    ctr = _scanner(base_oci, trivy_build, project)
    report = json.loads(await ctr.with_exec([*scan, "/src"]).stdout())
    found = {v["VulnerabilityID"]: v for v in vulnerabilities(report)}
    assert found["CVE-2020-8203"]["Severity"] == "HIGH"
    assert found["CVE-2020-8203"]["FixedVersion"] == "4.17.19"
    assert found["CVE-2020-8203"]["InstalledVersion"] == "4.17.15"

    # The gate a pipeline step applies: HIGH fails the step, CRITICAL does not.
    gate = [*scan, "--exit-code", "1", "/src"]
    high = ctr.with_exec([*gate, "--severity", "HIGH"], expect=dagger.ReturnType.ANY)
    assert await high.exit_code() == 1
    critical = ctr.with_exec([*gate, "--severity", "CRITICAL"], expect=dagger.ReturnType.ANY)
    assert await critical.exit_code() == 0
