"""A failing build names the image and the step, and the registry keeps the last good image."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from dagger import dag

from neosale_airgap import registry as reg
from neosale_airgap.env import REPO_ROOT
from neosale_airgap.manifest import INPUTS_LABEL, load_manifest

pytestmark = [pytest.mark.engine, pytest.mark.anyio]

CLI = Callable[..., subprocess.CompletedProcess[str]]
NAMESPACE = "airgap-test"  # never the real set's namespace


def write_manifest(path: Path, *, apt: list[str], version: str, check: str) -> Path:
    sources = load_manifest(REPO_ROOT / "airgap" / "images.toml").apt_sources
    path.write_text(
        "[defaults]\n"
        f'namespace = "{NAMESPACE}"\n'
        f"apt_sources = {json.dumps(list(sources))}\n\n"
        "[images.tiny]\n"
        'tag = "1"\n'
        f'version = "{version}"\n'
        'description = "test image"\n'
        f"apt = {json.dumps(apt)}\n"
        f"check = {json.dumps(check)}\n\n"
        "[[images.tiny.steps]]\n"
        f'run = "echo {version} > /etc/tiny-version"\n'
    )
    return path


@pytest.fixture
def tiny_repo(registry: dict[str, str]) -> Iterator[str]:
    """neosale-test/tiny in the local registry, removed afterwards."""
    addr = registry["NEOSALE_REGISTRY_ADDR"]
    yield f"{NAMESPACE}/tiny"
    with httpx.Client(base_url=f"http://{addr}", trust_env=False) as c:
        res = c.head(
            f"/v2/{NAMESPACE}/tiny/manifests/1",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
        if res.status_code == 200:
            c.delete(f"/v2/{NAMESPACE}/tiny/manifests/{res.headers['Docker-Content-Digest']}")


def build(cli: CLI, env: dict[str, str], manifest: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    res = cli(env, "--manifest", str(manifest), "build", "--json", *args)
    return res.returncode, json.loads(res.stdout), res.stderr


async def test_failed_steps_never_replace_the_good_image(
    dag_client: object,
    engine: dict[str, str],
    registry: dict[str, str],
    tiny_repo: str,
    cli: CLI,
    tmp_path: Path,
) -> None:
    addr = registry["NEOSALE_REGISTRY_ADDR"]
    manifest = tmp_path / "images.toml"

    write_manifest(manifest, apt=[], version="good", check="grep -qx good /etc/tiny-version")
    rc, report, err = build(cli, registry, manifest, "--force")
    assert rc == 0, err
    good_inputs = report["images"][0]["inputs"]
    assert report["images"][0]["status"] == "built"
    assert reg.published_inputs(addr, tiny_repo, "1") == good_inputs

    # A package that does not exist: the apt step fails, nothing is published.
    write_manifest(manifest, apt=["neosale-no-such-package"], version="bad", check="true")
    rc, report, err = build(cli, registry, manifest)
    assert rc == 1
    failed = report["images"][0]
    assert failed["status"] == "failed"
    assert failed["failure"]["step"] == "apt-get install neosale-no-such-package"
    assert "Unable to locate package neosale-no-such-package" in failed["failure"]["error"]
    assert "tiny: FAILED at step 'apt-get install neosale-no-such-package'" in err
    assert "failed: tiny (step 'apt-get install neosale-no-such-package')" in err

    # The check fails: built, but never published.
    write_manifest(manifest, apt=[], version="unchecked", check="echo 'not good enough' >&2; exit 7")
    rc, report, err = build(cli, registry, manifest)
    assert rc == 1
    assert report["images"][0]["failure"]["step"] == "check"
    assert "exit code 7" in report["images"][0]["failure"]["error"]
    assert "not good enough" in report["images"][0]["failure"]["error"]

    # The registry still serves the last good image.
    assert reg.published_inputs(addr, tiny_repo, "1") == good_inputs
    ctr = dag.container().from_(f"{addr}/{tiny_repo}:1")
    assert (await ctr.with_exec(["cat", "/etc/tiny-version"]).stdout()).strip() == "good"
    assert (await ctr.label(INPUTS_LABEL)) == good_inputs
