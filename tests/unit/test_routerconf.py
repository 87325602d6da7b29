"""The router's nginx files as text: rendering, reading back, the swap script."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from neosale_deploy.errors import UsageError
from neosale_deploy.model import Target
from neosale_deploy.routerconf import (
    CHECKOUT_CONF,
    NOWHERE,
    ROUTES,
    RouterFiles,
    Routing,
    parse_routing,
    render_preview,
    render_upstream,
    swap_script,
)

T = Target(project="shop")


def test_what_the_deployer_writes_reads_back_without_drift() -> None:
    text = render_upstream(T, Routing("green", "blue", "g1"))
    assert parse_routing(T, text) == Routing("green", "blue", "g1")
    assert parse_routing(T, render_upstream(T, Routing(None, "blue", "g0"))) == Routing(None, "blue", "g0")


def test_the_live_colour_is_what_the_servers_say_not_the_header() -> None:
    edited = render_upstream(T, Routing("blue", "green", "g1")).replace("shop-blue-", "shop-green-")
    routing = parse_routing(T, edited)
    assert routing is not None
    assert routing.live == "green"
    assert routing.preview == "blue"
    assert "header says live=blue" in routing.drift
    assert "servers are green" in routing.drift


def test_a_file_without_the_header_is_read_from_its_servers() -> None:
    body = render_upstream(T, Routing("green", "blue", "g1")).split("\n", 1)[1]
    routing = parse_routing(T, body)
    assert routing is not None
    assert (routing.live, routing.preview) == ("green", "blue")
    assert "no neosale-deploy header" in routing.drift


@pytest.mark.parametrize(
    "text",
    [
        "",
        "upstream neosale_backend { server 10.0.0.5:4000; }\n"
        "upstream neosale_frontend { server 10.0.0.5:3000; }",
        "upstream neosale_backend { server shop-blue-backend:4000; }\n"
        "upstream neosale_frontend { server shop-green-frontend:3000; }",
        "upstream neosale_backend { server shop-blue-backend:4000; }",
    ],
)
def test_servers_that_are_not_one_colour_of_this_project_are_unreadable(text: str) -> None:
    assert parse_routing(T, text) is None


def test_no_colour_points_at_a_closed_port() -> None:
    text = render_upstream(T, Routing(None, None, "g"))
    assert f"server {NOWHERE};" in text
    assert parse_routing(T, text) == Routing(None, None, "g")


def test_the_repository_config_loads_and_the_preview_server_includes_its_routes() -> None:
    files = RouterFiles.load(str(CHECKOUT_CONF))
    assert "/__neosale" not in files.main + files.routes, "nothing deployer-specific on the public port"
    preview = render_preview(T)
    assert f"include conf.d/{ROUTES};" in preview
    assert "location = /__neosale/router" in preview
    assert "location = /__neosale/live/backend/ready" in preview


def test_a_missing_or_foreign_config_folder_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=rf"{tmp_path}: nginx.conf is missing"):
        RouterFiles.load(str(tmp_path))
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "nginx.conf").write_text("events {}\nhttp { server { listen 80; } }\n")
    (tmp_path / "conf.d" / ROUTES).write_text("")
    with pytest.raises(UsageError, match=r"lacks listen 8080, include conf.d/\*.conf"):
        RouterFiles.load(str(tmp_path))


def test_the_environment_names_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEOSALE_ROUTER_CONF", str(tmp_path))
    with pytest.raises(UsageError, match=str(tmp_path)):
        RouterFiles.load()


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _run_swap(tmp_path: Path, files: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The swap script with Debian's nginx testing a config in tmp_path (no reload: exit 4)."""
    shim = tmp_path / "bin" / "nginx"
    shim.parent.mkdir(exist_ok=True)
    shim.write_text(f'#!/bin/sh\nexec {NGINX} -p {tmp_path}/ -c {tmp_path}/nginx.conf -e /dev/null "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{shim.parent}:{os.environ['PATH']}"}
    return subprocess.run(
        ["sh", "-c", swap_script(files)], capture_output=True, text=True, env=env, check=False
    )


@pytest.mark.skipif(not Path(NGINX).exists(), reason="Debian's nginx (scripts/setup.sh installs it)")
def test_a_refused_config_puts_every_old_file_back(tmp_path: Path) -> None:
    main = tmp_path / "nginx.conf"
    main.write_text(f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{ include {tmp_path}/*.inc; }}\n")
    good = tmp_path / "a.inc"
    good.write_text("map $host $a { default 1; }\n")
    new = tmp_path / "b.inc"
    done = _run_swap(tmp_path, {str(good): "map $host $a { default 2; }\n", str(new): "this is not nginx;\n"})
    assert done.returncode == 3, done.stdout + done.stderr
    assert good.read_text() == "map $host $a { default 1; }\n"
    assert not new.exists()
    assert sorted(p.name for p in tmp_path.glob(".*")) == []
    accepted = _run_swap(tmp_path, {str(good): "map $host $a { default 3; }\n"})
    assert accepted.returncode == 4, "nginx -t passed; only the reload (no master here) failed"
    assert good.read_text() == "map $host $a { default 3; }\n"
