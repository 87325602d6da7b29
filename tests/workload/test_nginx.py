"""nginx/: the edge router, checked with the real nginx binary in front of stub upstreams."""

from __future__ import annotations

import re
import shutil
import time

import httpx
import pytest

from .support import REPO, Router, StubServer, render_router

NGINX_CONF = (REPO / "nginx" / "nginx.conf").read_text()
ROUTES = (REPO / "nginx" / "conf.d" / "neosale-routes.inc").read_text()
UPSTREAM_CONF = (REPO / "nginx" / "conf.d" / "upstream.conf").read_text()

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
}


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        # Exactly once: the stubs send their own copies, as the apps do.
        assert response.headers.get_list(name) == [value], name
    # Plain HTTP: no HSTS.
    assert "strict-transport-security" not in response.headers


def test_nginx_t_accepts_repo_config() -> None:
    r = render_router("127.0.0.1:9", "127.0.0.1:10")
    try:
        result = r.ctl("-t")
        assert result.returncode == 0, result.stderr
        assert "syntax is ok" in result.stderr
        assert "test is successful" in result.stderr
    finally:
        shutil.rmtree(r.dir, ignore_errors=True)


def test_upstreams_live_only_in_conf_d() -> None:
    # A blue-green switch must be a rewrite of conf.d/upstream.conf alone.
    assert re.findall(r"^\s*upstream\s+(\S+)", UPSTREAM_CONF, re.M) == ["neosale_frontend", "neosale_backend"]
    assert not re.search(r"^\s*upstream\s", NGINX_CONF, re.M)
    assert re.search(r"^\s*include\s+conf\.d/\*\.conf;", NGINX_CONF, re.M)
    assert not re.search(r"^\s*upstream\s", ROUTES, re.M)
    # The public server names the groups; the routes reach them through variables.
    assert re.search(r"set\s+\$neosale_backend\s+neosale_backend;", NGINX_CONF)
    assert re.search(r"set\s+\$neosale_frontend\s+neosale_frontend;", NGINX_CONF)
    assert re.search(r"include\s+conf\.d/neosale-routes\.inc;", NGINX_CONF)
    assert re.search(r"^\s*server_tokens\s+off;", NGINX_CONF, re.M)
    for directive in (
        r"worker_shutdown_timeout\s+\d+s;",
        r"gzip\s+on;",
        r"limit_req_zone\s+\$binary_remote_addr\s+zone=neosale_api:",
    ):
        assert re.search(directive, NGINX_CONF), directive
    for directive in (
        r"proxy_set_header\s+Host\s+\$host;",
        r"proxy_set_header\s+X-Forwarded-For\s+\$proxy_add_x_forwarded_for;",
        r"proxy_set_header\s+X-Forwarded-Proto\s",
        r"proxy_set_header\s+X-Forwarded-Host\s",
        r"location\s+/api/\s*\{[^}]*proxy_pass\s+http://\$neosale_backend;",
        r"location\s+/\s*\{[^}]*proxy_pass\s+http://\$neosale_frontend;",
    ):
        assert re.search(directive, ROUTES), directive


def test_routes_pages_to_frontend_and_api_to_backend(
    client: httpx.Client, stubs: dict[str, StubServer]
) -> None:
    page = client.get("/catalogue?x=1")
    assert page.status_code == 200
    assert page.headers["x-stub"] == "frontend-blue"
    assert stubs["frontend-blue"].seen[-1].path == "/catalogue?x=1"

    api = client.get("/api/products")
    assert api.status_code == 200
    assert api.headers["x-stub"] == "backend-blue"
    assert api.json()["path"] == "/api/products"

    post = client.post("/api/leads", json={"name": "a", "email": "a@example.com"})
    assert post.json()["path"] == "/api/leads"
    assert stubs["backend-blue"].seen[-1].method == "POST"

    # The API's liveness is the backend's /health.
    health = client.get("/api/health")
    assert health.headers["x-stub"] == "backend-blue"
    assert health.json()["path"] == "/health"


def test_health_is_answered_by_nginx_itself(client: httpx.Client, stubs: dict[str, StubServer]) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "neosale-nginx"}
    assert all(s.hits() == 0 for s in stubs.values())
    assert_security_headers(response)


def test_security_headers_on_every_route(client: httpx.Client) -> None:
    for path in ("/", "/api/products", "/api/health"):
        response = client.get(path)
        assert response.status_code == 200
        assert_security_headers(response)
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
        assert "server" not in response.headers or response.headers["server"] == "nginx"


def test_hsts_only_behind_https(client: httpx.Client) -> None:
    response = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_proxy_headers_reach_the_upstreams(
    router: Router, client: httpx.Client, stubs: dict[str, StubServer]
) -> None:
    response = client.get("/", headers={"Host": f"shop.example:{router.port}"})
    seen = stubs["frontend-blue"].seen[-1].headers
    assert seen["host"] == "shop.example"
    # Port kept: Next.js Server Actions compare it with the browser's Origin.
    assert seen["x-forwarded-host"] == f"shop.example:{router.port}"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-real-ip"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-request-id"] == response.headers["x-request-id"]

    client.get("/api/products", headers={"X-Forwarded-For": "203.0.113.7"})
    seen = stubs["backend-blue"].seen[-1].headers
    # Appended, so a backend trusting one proxy hop sees the real peer.
    assert seen["x-forwarded-for"] == "203.0.113.7, 127.0.0.1"
    assert seen["host"] == "127.0.0.1"


def test_gzip(client: httpx.Client) -> None:
    for path, ctype in (("/", "text/html"), ("/api/products", "application/json")):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-type"].startswith(ctype)
        assert response.headers.get("content-encoding") == "gzip", path
        assert "Accept-Encoding" in response.headers.get("vary", "")
        plain = client.get(path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert response.content == plain.content  # httpx decodes the gzip body


def test_api_rate_limit(client: httpx.Client) -> None:
    # rate 10r/s with burst 20: a quick run of 60 requests must be cut.
    codes = [client.get("/api/products").status_code for _ in range(60)]
    assert codes[:15] == [200] * 15
    assert 429 in codes
    limited = client.get("/api/products")
    if limited.status_code == 429:
        assert_security_headers(limited)
    # Pages have their own zone and are still served.
    assert client.get("/").status_code == 200


def test_blue_green_switch_rewrites_one_file_and_reloads(
    router: Router, client: httpx.Client, stubs: dict[str, StubServer]
) -> None:
    assert client.get("/").headers["x-stub"] == "frontend-blue"
    assert client.get("/api/products").headers["x-stub"] == "backend-blue"

    before = {p: p.read_bytes() for p in router.dir.rglob("*.conf")}
    router.write_upstreams(stubs["frontend-green"].addr, stubs["backend-green"].addr)
    changed = [p.relative_to(router.dir).as_posix() for p, data in before.items() if p.read_bytes() != data]
    assert changed == ["conf.d/upstream.conf"]

    assert router.ctl("-t").returncode == 0
    reload = router.ctl("-s", "reload")
    assert reload.returncode == 0, reload.stderr

    # Reload is asynchronous: new workers take over within moments.
    deadline = time.monotonic() + 15
    while client.get("/").headers["x-stub"] != "frontend-green":
        if time.monotonic() > deadline:
            pytest.fail(f"still routed to blue after reload: {router.errors()}")
        time.sleep(0.1)

    blue_hits = stubs["frontend-blue"].hits() + stubs["backend-blue"].hits()
    for _ in range(5):
        assert client.get("/").headers["x-stub"] == "frontend-green"
        assert client.get("/api/products").headers["x-stub"] == "backend-green"
    assert stubs["frontend-blue"].hits() + stubs["backend-blue"].hits() == blue_hits
    # Same master process: a reload, not a restart.
    assert router.proc is not None
    assert router.proc.poll() is None
