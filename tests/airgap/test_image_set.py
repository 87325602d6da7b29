"""The image set works: each image is pulled FROM THE LOCAL REGISTRY and used in Dagger."""

from __future__ import annotations

import json
import secrets
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagger
import pytest
from dagger import dag

from neosale_airgap import registry as reg
from neosale_airgap.manifest import INPUTS_LABEL

pytestmark = [pytest.mark.engine, pytest.mark.anyio]

FIXTURES = Path(__file__).parent / "fixtures"
CLI = Callable[..., subprocess.CompletedProcess[str]]


def image(refs: dict[str, str], name: str) -> dagger.Container:
    return dag.container().from_(refs[name])


async def test_registry_holds_labelled_images(image_set: dict[str, Any], registry: dict[str, str]) -> None:
    addr = registry["NEOSALE_REGISTRY_ADDR"]
    for img in image_set["images"]:
        config = reg.image_config(addr, f"offline/{img['name']}", img["ref"].rpartition(":")[2])
        assert config is not None, img["name"]
        labels = config["config"]["Labels"]
        assert labels[INPUTS_LABEL] == img["inputs"]
        assert labels["org.opencontainers.image.title"] == f"offline/{img['name']}"
        assert labels["org.opencontainers.image.version"]


async def test_node_22_and_npm_ci_through_the_registry(dag_client: object, refs: dict[str, str]) -> None:
    node = image(refs, "node")
    assert (await node.with_exec(["node", "-v"]).stdout()).startswith("v22.")
    assert (await node.with_exec(["id", "node"]).stdout()).startswith("uid=1000(node) gid=1000(node)")
    app = dag.host().directory(str(FIXTURES / "npm-ci"))
    out = await (
        node.with_user("node")
        .with_directory("/home/node/app", app, owner="node")
        .with_workdir("/home/node/app")
        .with_env_variable("NONCE", secrets.token_hex(8))  # really fetch, not a cached step
        .with_exec(["npm", "ci", "--no-audit", "--no-fund"])
        .with_exec(
            [
                "node",
                "-e",
                "const n = require('is-number'); console.log(n(5), n('x'), "
                "require('is-number/package.json').version)",
            ]
        )
        .stdout()
    )
    assert out.strip() == "true false 7.0.0"


async def test_postgres_env_configures_user_and_db(dag_client: object, refs: dict[str, str]) -> None:
    password = secrets.token_hex(12)
    db = (
        image(refs, "postgres")
        .with_env_variable("POSTGRES_USER", "neosale")
        .with_env_variable("POSTGRES_PASSWORD", password)
        .with_env_variable("POSTGRES_DB", "neosale_test")
        .with_env_variable("PGDATA", "/var/lib/postgresql/data/pgdata")
        .with_env_variable("NONCE", secrets.token_hex(8))
        .with_exposed_port(5432)
        .as_service(use_entrypoint=True)
    )
    client = image(refs, "postgres").with_service_binding("db", db)
    query = [
        "psql",
        "-h",
        "db",
        "-U",
        "neosale",
        "-d",
        "neosale_test",
        "-Atc",
        "select current_user || ' ' || current_database() || ' ' || current_setting('data_directory')",
    ]
    out = await client.with_env_variable("PGPASSWORD", password).with_exec(query).stdout()
    assert out.strip() == "neosale neosale_test /var/lib/postgresql/data/pgdata"
    wrong = client.with_env_variable("PGPASSWORD", "wrong").with_exec(query, expect=dagger.ReturnType.ANY)
    assert await wrong.exit_code() != 0
    assert "password authentication failed" in await wrong.stderr()


async def test_redis_answers_ping(dag_client: object, refs: dict[str, str]) -> None:
    cache = image(refs, "redis").with_env_variable("NONCE", secrets.token_hex(8)).as_service()
    value = secrets.token_hex(8)
    out = await (
        image(refs, "redis")
        .with_service_binding("cache", cache)
        .with_exec(
            [
                "sh",
                "-c",
                f"redis-cli -h cache ping && redis-cli -h cache set k {value} >/dev/null "
                "&& redis-cli -h cache get k",
            ]
        )
        .stdout()
    )
    assert out.split() == ["PONG", value]


def nginx_site(refs: dict[str, str], files: dict[str, str]) -> dagger.Service:
    """nginx from the registry with our own conf.d server on port 8080."""
    conf = "server { listen 8080; root /srv/site; index index.html; }\n"
    ctr = image(refs, "nginx").with_new_file("/etc/nginx/conf.d/default.conf", conf)
    for name, body in files.items():
        ctr = ctr.with_new_file(f"/srv/site/{name}", body)
    return ctr.with_exposed_port(8080).as_service()


async def test_nginx_serves_a_file_from_conf_d(dag_client: object, refs: dict[str, str]) -> None:
    marker = secrets.token_hex(8)
    web = nginx_site(refs, {"marker.txt": marker})
    body = await (
        image(refs, "nginx")
        .with_service_binding("web", web)
        .with_exec(["busybox", "wget", "-qO-", "http://web:8080/marker.txt"])
        .stdout()
    )
    assert body == marker


PAGE = """<!doctype html><html><head><title>NEOSALE offline</title><style>
body { margin: 0; font: 28px 'DejaVu Sans', sans-serif;
       background: linear-gradient(135deg, #0b3d91 0%, #1fa2ff 50%, #f7971e 100%); }
h1 { color: white; padding: 40px; text-shadow: 2px 2px 4px #000; }
.box { display: inline-block; width: 140px; height: 140px; margin: 20px; border-radius: 50%;
       background: radial-gradient(circle at 30% 30%, #fff, #e52d27); }
</style></head><body><h1 id="title">Rendered by Chromium MARKER</h1>
<div class="box"></div><div class="box"></div><div class="box"></div></body></html>"""

SHOT_JS = """
const { chromium } = require('playwright-core');
(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking',
           '--disable-component-update', '--no-first-run'],
  });
  const page = await browser.newPage({ viewport: { width: 1024, height: 640 } });
  await page.goto('http://web:8080/', { waitUntil: 'load' });
  await page.screenshot({ path: '/tmp/out/shot.png' });
  console.log(JSON.stringify({ title: await page.title(), h1: await page.textContent('#title'),
                               version: browser.version() }));
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
"""


async def test_playwright_screenshots_a_page(
    dag_client: object, refs: dict[str, str], tmp_path: Path
) -> None:
    marker = secrets.token_hex(6)
    web = nginx_site(refs, {"index.html": PAGE.replace("MARKER", marker)})
    ctr = (
        image(refs, "playwright")
        .with_service_binding("web", web)
        .with_new_file("/tmp/shot.js", SHOT_JS)
        .with_exec(["mkdir", "-p", "/tmp/out"])
        .with_exec(["node", "/tmp/shot.js"])
    )
    info = json.loads(await ctr.stdout())
    assert info["title"] == "NEOSALE offline"
    assert info["h1"] == f"Rendered by Chromium {marker}"
    shot = tmp_path / "shot.png"
    await ctr.file("/tmp/out/shot.png").export(str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 5 * 1024, len(data)


async def test_hadolint_flags_a_bad_dockerfile(dag_client: object, refs: dict[str, str]) -> None:
    bad = "FROM debian\nRUN apt-get update && apt-get install -y curl\n"
    run = (
        image(refs, "hadolint")
        .with_new_file("/work/Dockerfile", bad)
        .with_exec(["hadolint", "--no-color", "/work/Dockerfile"], expect=dagger.ReturnType.ANY)
    )
    assert await run.exit_code() == 1
    out = await run.stdout()
    for rule in ("DL3006", "DL3008", "DL3015"):
        assert rule in out, out
    good = "FROM debian:bookworm\nRUN echo ok\n"
    ok = (
        image(refs, "hadolint")
        .with_new_file("/work/Dockerfile", good)
        .with_exec(["hadolint", "/work/Dockerfile"])
    )
    assert await ok.exit_code() == 0


async def test_python_runner_makes_a_venv(dag_client: object, refs: dict[str, str]) -> None:
    out = await (
        image(refs, "python")
        .with_exec(
            [
                "sh",
                "-c",
                "python --version && python3 -m venv /tmp/v && /tmp/v/bin/python -c "
                "'import sys; print(sys.prefix)'",
            ]
        )
        .stdout()
    )
    assert out.split() == ["Python", out.split()[1], "/tmp/v"]
    assert out.split()[1].startswith("3.11.")


async def test_registry_image_serves_v2(dag_client: object, refs: dict[str, str]) -> None:
    svc = (
        image(refs, "registry")
        .with_env_variable("NONCE", secrets.token_hex(8))
        .as_service(use_entrypoint=True)
    )
    out = await (
        image(refs, "registry")
        .with_service_binding("registry", svc)
        .with_exec(["busybox", "wget", "-qO-", "http://registry:5000/v2/_catalog"])
        .stdout()
    )
    assert json.loads(out) == {"repositories": []}


async def test_trivy_image_if_built(dag_client: object, registry: dict[str, str]) -> None:
    addr = registry["NEOSALE_REGISTRY_ADDR"]
    if reg.image_config(addr, "offline/trivy", "0.74") is None:
        pytest.skip("offline/trivy is not in the registry (built with: images build trivy)")
    out = await dag.container().from_(f"{addr}/offline/trivy:0.74").with_exec(["trivy", "--version"]).stdout()
    assert out.startswith("Version: 0.74.")


def test_second_build_rebuilds_nothing(image_set: dict[str, Any], registry: dict[str, str], cli: CLI) -> None:
    names = [i["name"] for i in image_set["images"]]
    res = cli(registry, "build", *names, "--json")
    assert res.returncode == 0, res.stderr[-3000:]
    report = json.loads(res.stdout)
    assert [(i["name"], i["status"]) for i in report["images"]] == [(n, "skipped") for n in names]
    first = {i["name"]: i["inputs"] for i in image_set["images"]}
    assert {i["name"]: i["inputs"] for i in report["images"]} == first
    assert "building" not in res.stderr
