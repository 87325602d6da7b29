"""The local Dagger engine does real work: images, cache, services, volumes, secrets."""

from __future__ import annotations

import hashlib
import io
import secrets
import subprocess
import sys
import textwrap
from pathlib import Path

import dagger
import pytest
from dagger import dag

from neosale_airgap.env import REPO_ROOT
from neosale_airgap.oci import ImageConfig, rootfs_to_oci

pytestmark = [pytest.mark.engine, pytest.mark.anyio]


@pytest.fixture(scope="module")
def base_oci(rootfs_tar: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("oci") / "bookworm.tar"
    rootfs_to_oci(rootfs_tar, out, ImageConfig(), "offline/debian:bookworm")
    return out


def base(base_oci: Path) -> dagger.Container:
    return dag.container().import_(dag.host().file(str(base_oci)))


async def test_container_from_imported_tarball(dag_client: object, base_oci: Path) -> None:
    out = await base(base_oci).with_exec(["cat", "/etc/os-release"]).stdout()
    assert "VERSION_CODENAME=bookworm" in out


async def test_same_step_is_served_from_cache_across_sessions(dag_client: object, base_oci: Path) -> None:
    # The step prints random bytes: a second execution could not repeat them,
    # so equal output from a second, separate session means a cache hit.
    nonce = secrets.token_hex(8)
    step = ["sh", "-c", f"echo {nonce} >/dev/null; head -c 16 /dev/urandom | od -An -tx1"]
    first = await base(base_oci).with_exec(step).stdout()
    async with dagger.Connection(dagger.Config(log_output=io.StringIO())) as other:
        ctr = other.container().import_(other.host().file(str(base_oci)))
        second = await ctr.with_exec(step).stdout()
        fresh = await ctr.with_exec([*step[:2], step[2] + " # changed"]).stdout()
    assert first.strip()
    assert first == second
    assert fresh != first  # a changed step really runs again


async def test_service_binding_by_name(dag_client: object, base_oci: Path) -> None:
    marker = secrets.token_hex(8)
    web = (
        base(base_oci)
        .with_new_file("/srv/index.html", marker)
        .with_exposed_port(8080)
        .as_service(args=["busybox", "httpd", "-f", "-p", "8080", "-h", "/srv"])
    )
    body = await (
        base(base_oci)
        .with_service_binding("web", web)
        .with_env_variable("NONCE", marker)  # a new step each run
        .with_exec(["busybox", "wget", "-qO-", "http://web:8080/index.html"])
        .stdout()
    )
    assert body == marker


async def test_cache_volume_survives_sessions(engine: dict[str, str], base_oci: Path) -> None:
    key = f"test-volume-{secrets.token_hex(6)}"
    value = secrets.token_hex(8)
    async with dagger.Connection(dagger.Config(log_output=io.StringIO())) as c1:
        await (
            c1.container()
            .import_(c1.host().file(str(base_oci)))
            .with_mounted_cache("/cache", c1.cache_volume(key))
            .with_exec(["sh", "-c", f"echo {value} > /cache/value"])
            .sync()
        )
    async with dagger.Connection(dagger.Config(log_output=io.StringIO())) as c2:
        got = await (
            c2.container()
            .import_(c2.host().file(str(base_oci)))
            .with_mounted_cache("/cache", c2.cache_volume(key))
            .with_exec(["cat", "/cache/value"])
            .stdout()
        )
    assert got.strip() == value


async def test_secret_is_usable_and_never_printed(engine: dict[str, str], base_oci: Path) -> None:
    value = "s3cr3t-" + secrets.token_hex(12)
    logs = io.StringIO()
    async with dagger.Connection(dagger.Config(log_output=logs)) as c:
        out = await (
            c.container()
            .import_(c.host().file(str(base_oci)))
            # The secret's name, not its value, keys the cache: a new name per value.
            .with_secret_variable("TOKEN", c.set_secret(f"token-{secrets.token_hex(4)}", value))
            .with_exec(["sh", "-c", 'printf %s "$TOKEN" | sha256sum; echo "raw: $TOKEN"'])
            .stdout()
        )
    assert hashlib.sha256(value.encode()).hexdigest() in out  # the container saw it
    assert value not in out  # the engine scrubs it from captured output
    assert value not in logs.getvalue()


def test_dagger_run_python_script(engine: dict[str, str], base_oci: Path, tmp_path: Path) -> None:
    script = tmp_path / "hello.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import anyio, dagger
            from dagger import dag

            async def main() -> None:
                async with dagger.connection():
                    ctr = dag.container().import_(dag.host().file({str(base_oci)!r}))
                    print("debian", (await ctr.with_exec(["cat", "/etc/debian_version"]).stdout()).strip())

            anyio.run(main)
            """
        )
    )
    cli = engine["_EXPERIMENTAL_DAGGER_CLI_BIN"]
    env = {**engine, "DAGGER_PROGRESS": "plain"}  # progress goes to stderr; stdout is the script's
    # Inside `dagger run` the SDK uses the session it is handed, not a new CLI.
    env.pop("_EXPERIMENTAL_DAGGER_CLI_BIN")
    res = subprocess.run(
        [cli, "run", sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("debian 12."), res.stdout


def test_dagger_run_propagates_exit_code(engine: dict[str, str]) -> None:
    cli = engine["_EXPERIMENTAL_DAGGER_CLI_BIN"]
    res = subprocess.run([cli, "run", "sh", "-c", "exit 7"], env=engine, capture_output=True, timeout=120)
    assert res.returncode == 7


def test_engine_status_reports_version(engine: dict[str, str]) -> None:
    res = subprocess.run(
        [str(REPO_ROOT / "airgap" / "engine.sh"), "status"], env=engine, capture_output=True, text=True
    )
    assert res.returncode == 0
    assert res.stdout.startswith("up version=v0.21."), res.stdout
