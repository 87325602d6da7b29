"""airgap/registry.sh: one registry per address, clear about a taken port."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx

from neosale_airgap.env import REPO_ROOT, airgap_env

REGISTRY_SH = str(REPO_ROOT / "airgap" / "registry.sh")


def registry_sh(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([REGISTRY_SH, *args], env=env, capture_output=True, text=True, timeout=300)


def private_env(tmp_path: Path, port: int) -> dict[str, str]:
    return airgap_env() | {
        "NEOSALE_REGISTRY_ADDR": f"127.0.0.1:{port}",
        "NEOSALE_REGISTRY_DIR": str(tmp_path / "storage"),
        "NEOSALE_REGISTRY_RUN": str(tmp_path / "run"),
    }


def test_start_twice_keeps_one_registry(registry: dict[str, str]) -> None:
    pid_file = Path(registry["NEOSALE_REGISTRY_RUN"]) / "registry.pid"
    before = pid_file.read_text().strip()
    res = registry_sh(registry, "start")
    assert res.returncode == 0, res.stderr
    assert "already running" in res.stderr
    assert pid_file.read_text().strip() == before
    status = registry_sh(registry, "status")
    assert status.returncode == 0
    assert status.stdout.startswith(f"up addr={registry['NEOSALE_REGISTRY_ADDR']}")


def test_lifecycle_on_a_private_port(tmp_path: Path, free_port: int) -> None:
    port = free_port
    env = private_env(tmp_path, port)
    try:
        res = registry_sh(env, "start")
        assert res.returncode == 0, res.stderr
        config = (tmp_path / "run" / "config.yml").read_text()
        assert f"addr: 127.0.0.1:{port}" in config
        assert str(tmp_path / "storage") in config
        with httpx.Client(trust_env=False) as c:
            assert c.get(f"http://127.0.0.1:{port}/v2/").json() == {}
        assert registry_sh(env, "status").returncode == 0
    finally:
        stop = registry_sh(env, "stop")
    assert stop.returncode == 0
    assert "stopped" in stop.stderr
    down = registry_sh(env, "status")
    assert down.returncode == 3
    assert down.stdout.strip() == f"down addr=127.0.0.1:{port}"
    assert not (tmp_path / "run" / "registry.pid").exists()


def test_port_taken_by_another_process(tmp_path: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        port = squatter.getsockname()[1]
        res = registry_sh(private_env(tmp_path, port), "start")
    assert res.returncode != 0
    assert f"port {port} on 127.0.0.1 is already in use by another process" in res.stderr
    assert not (tmp_path / "run" / "registry.pid").exists()


def test_bad_address_is_refused(tmp_path: Path) -> None:
    env = private_env(tmp_path, 1) | {"NEOSALE_REGISTRY_ADDR": "localhost"}
    res = registry_sh(env, "start")
    assert res.returncode != 0
    assert "is not HOST:PORT" in res.stderr
