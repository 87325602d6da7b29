"""engine.sh start/stop/status: idempotent, and clear about what is wrong."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from neosale_airgap.env import REPO_ROOT

ENGINE_SH = str(REPO_ROOT / "airgap" / "engine.sh")


def engine_sh(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ENGINE_SH, *args], env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.engine
def test_start_twice_keeps_one_engine(engine: dict[str, str]) -> None:
    pid_file = Path(engine["NEOSALE_ENGINE_RUN"]) / "engine.pid"
    before = pid_file.read_text().strip()
    res = engine_sh(engine, "start")
    assert res.returncode == 0, res.stderr
    assert "already running" in res.stderr
    assert pid_file.read_text().strip() == before


@pytest.mark.engine
def test_foreign_socket_is_refused(engine: dict[str, str], tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    sock_path = run_dir / "engine.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        sock.listen(1)
        env = {**engine, "NEOSALE_ENGINE_RUN": str(run_dir), "NEOSALE_ENGINE_STATE": str(tmp_path / "state")}
        res = engine_sh(env, "start")
    assert res.returncode != 0
    assert str(sock_path) in res.stderr
    assert "no engine of ours owns it" in res.stderr
    assert not (run_dir / "engine.pid").exists()


def test_missing_install_names_the_fix(tmp_path: Path) -> None:
    from neosale_airgap.env import airgap_env

    env = airgap_env(
        {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(tmp_path),
            "NEOSALE_PREFIX": str(tmp_path / "nothing"),
        }
    )
    res = engine_sh(env, "start")
    assert res.returncode != 0
    assert "run airgap/install-dagger.sh first" in res.stderr


def test_status_when_down(tmp_path: Path) -> None:
    from neosale_airgap.env import airgap_env

    env = airgap_env(
        {
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(tmp_path),
            "NEOSALE_ENGINE_RUN": str(tmp_path / "run"),
        }
    )
    res = engine_sh(env, "status")
    assert res.returncode == 3
    assert res.stdout.strip() == "down"


@pytest.mark.engine
def test_bad_mirror_setting_is_rejected_before_start(engine: dict[str, str], tmp_path: Path) -> None:
    env = {
        **engine,
        "NEOSALE_ENGINE_RUN": str(tmp_path / "run"),
        "NEOSALE_ENGINE_STATE": str(tmp_path / "s"),
        "NEOSALE_ENGINE_MIRRORS": "docker.io",
    }
    res = engine_sh(env, "start")
    assert res.returncode != 0
    assert "'docker.io'" in res.stderr
    assert "REGISTRY=MIRROR" in res.stderr
    assert not (tmp_path / "run" / "engine.pid").exists()


INSTALL_SH = str(REPO_ROOT / "airgap" / "install-dagger.sh")


def test_install_without_go_names_the_requirement(tmp_path: Path) -> None:
    from neosale_airgap.env import airgap_env

    env = airgap_env({"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(tmp_path)})
    res = subprocess.run(["bash", INSTALL_SH], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    assert "go is not on PATH" in res.stderr


def test_install_with_unreachable_proxy_names_it(tmp_path: Path) -> None:
    from neosale_airgap.env import airgap_env

    env = airgap_env(
        {
            "PATH": "/usr/local/go/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(tmp_path),
            "GOPROXY": "http://127.0.0.1:9",
        }
    )
    res = subprocess.run(["bash", INSTALL_SH], env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode != 0
    assert "http://127.0.0.1:9" in res.stderr  # the proxy chain it tried, named
    assert not (tmp_path / ".cache" / "neosale-ci" / "dagger" / "current").exists()


def test_a_module_no_proxy_serves_is_named(tmp_path: Path) -> None:
    """The install's refusal check, on a real `go build` whose module the public
    proxy refuses (github.com/vito/tuist: the full CLI needs it; NEOSALE_GO_MIRROR serves it)."""
    (tmp_path / "go.mod").write_text(
        "module example.com/refused\n\ngo 1.22\n\nrequire github.com/vito/tuist v0.0.6\n"
    )
    (tmp_path / "main.go").write_text('package main\n\nimport _ "github.com/vito/tuist"\n\nfunc main() {}\n')
    env = {
        **os.environ,
        "GOMODCACHE": str(tmp_path / "mod"),
        "GOFLAGS": "-mod=mod -modcacherw",
        "GOPROXY": "https://proxy.golang.org",
    }
    build = subprocess.run(["go", "build", "./..."], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert build.returncode != 0
    lib = REPO_ROOT / "airgap" / "lib.sh"
    refused = subprocess.run(
        ["bash", "-c", f'. "{lib}"; go_refused_module "$1"', "_", build.stderr],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert refused == "github.com/vito/tuist@v0.0.6", build.stderr
