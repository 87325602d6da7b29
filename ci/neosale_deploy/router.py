"""The nginx router: live port -> active colour, preview port -> the other colour.

The switch rewrites one file, conf.d/upstream.conf, in a mounted DIRECTORY (a
bind-mounted single file keeps its inode after a rename and reload would see
nothing): write a hidden temp file, rename it over, `nginx -t`, and only then
`nginx -s reload`; when the test fails the old file is put back, so the router
is never half switched. Old workers finish their in-flight requests.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from neosale_deploy import dockerhost as dh
from neosale_deploy.errors import DeployError
from neosale_deploy.model import LABEL_PROJECT, LABEL_ROLE, Target

CONF_DIR = "/etc/nginx/conf.d"
UPSTREAM = "upstream.conf"
SERVERS = "neosale-router.conf"
LIVE_PORT = 8080
PREVIEW_PORT = 8081
# A closed port: "no colour" answers 502 instead of failing `nginx -t`.
NOWHERE = "127.0.0.1:9"
_HEADER = re.compile(
    r"^# neosale-deploy live=(?P<live>\S+) preview=(?P<preview>\S+) generation=(?P<gen>\S*)$", re.M
)

Log = Callable[[str], None]


@dataclass(frozen=True)
class Routing:
    live: str | None
    preview: str | None
    generation: str = ""


def _addr(target: Target, colour: str | None, role: str) -> str:
    if colour is None:
        return NOWHERE
    return f"{target.container_name(colour, role)}:{target.roles[role].port}"


def render_upstream(target: Target, routing: Routing) -> str:
    live, preview = routing.live or "none", routing.preview or "none"
    return f"""# neosale-deploy live={live} preview={preview} generation={routing.generation}
# Written by neosale-deploy at each switch; edits by hand are overwritten.
upstream neosale_backend {{
    server {_addr(target, routing.live, "backend")};
    keepalive 16;
}}
upstream neosale_frontend {{
    server {_addr(target, routing.live, "frontend")};
    keepalive 16;
}}
map $host $neosale_live {{ default "{live}"; }}
map $host $neosale_preview {{ default "{preview}"; }}
map $host $neosale_generation {{ default "{routing.generation}"; }}
map $host $neosale_preview_backend {{ default "{_addr(target, routing.preview, "backend")}"; }}
map $host $neosale_preview_frontend {{ default "{_addr(target, routing.preview, "frontend")}"; }}
"""


def _probe_locations(target: Target, backend: str, frontend: str) -> str:
    """Exact locations that reach each app's health endpoints through the router."""
    out = []
    b, f = target.roles["backend"], target.roles["frontend"]
    for name, path in (("health", b.health_path), ("ready", b.ready_path), ("version", b.version_path)):
        if path:
            out.append(
                f"        location = /__neosale/backend/{name} {{ proxy_pass http://{backend}{path}; }}"
            )
    out.append(
        f"        location = /__neosale/frontend/health {{ proxy_pass http://{frontend}{f.health_path}; }}"
    )
    return "\n".join(out)


def render_servers(target: Target) -> str:
    common = """        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_connect_timeout 5s;
        proxy_read_timeout 60s;"""
    return f"""# Written by neosale-deploy when it creates the router.
server {{
        listen {LIVE_PORT} default_server;
        server_name _;
{common}
        proxy_set_header X-Neosale-Via live;
        add_header X-Neosale-Colour $neosale_live always;
        location = /__neosale/router {{
            default_type text/plain;
            return 200 "live=$neosale_live preview=$neosale_preview generation=$neosale_generation\\n";
        }}
{_probe_locations(target, "neosale_backend", "neosale_frontend")}
        location /api/ {{ proxy_pass http://neosale_backend; }}
        location / {{ proxy_pass http://neosale_frontend; }}
}}
# Preview: the idle colour, resolved per request (docker's DNS) so a missing
# idle colour is a 502 here rather than a config that fails `nginx -t`.
server {{
        listen {PREVIEW_PORT};
        server_name _;
        resolver 127.0.0.11 valid=1s ipv6=off;
{common}
        proxy_set_header X-Neosale-Via preview;
        add_header X-Neosale-Colour $neosale_preview always;
        location = /__neosale/router {{
            default_type text/plain;
            return 200 "live=$neosale_live preview=$neosale_preview generation=$neosale_generation\\n";
        }}
{_probe_locations(target, "$neosale_preview_backend", "$neosale_preview_frontend")}
        # Each app of the idle colour on its own, for the smoke runner.
        location ~ ^/__neosale/backend(/.*)$ {{
            proxy_pass http://$neosale_preview_backend$1$is_args$args;
        }}
        location ~ ^/__neosale/frontend(/.*)$ {{
            proxy_pass http://$neosale_preview_frontend$1$is_args$args;
        }}
        location /api/ {{ proxy_pass http://$neosale_preview_backend; }}
        location / {{ proxy_pass http://$neosale_preview_frontend; }}
}}
"""


# Replaces the image's nginx.conf: bounded graceful reloads, logs to docker.
MAIN_CONF = """worker_processes auto;
# Old workers otherwise wait for every keep-alive client after a reload.
worker_shutdown_timeout 30s;
pid /run/nginx.pid;
error_log /dev/stderr warn;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    keepalive_timeout 65s;
    include /etc/nginx/conf.d/*.conf;
}
"""

# Rename, test, reload; on a failed test the previous file goes back.
SWITCH_SCRIPT = f"""rm -f .{UPSTREAM}.bak
if [ -f {UPSTREAM} ]; then cp -p {UPSTREAM} .{UPSTREAM}.bak; fi
mv -f .{UPSTREAM}.new {UPSTREAM}
if ! out=$(nginx -t 2>&1); then
  if [ -f .{UPSTREAM}.bak ]; then mv -f .{UPSTREAM}.bak {UPSTREAM}; else rm -f {UPSTREAM}; fi
  echo "$out"
  exit 3
fi
nginx -s reload 2>&1 || exit 4
"""


def parse_routing(text: str | None) -> Routing | None:
    if not text:
        return None
    m = _HEADER.search(text)
    if m is None:
        return None

    def colour(v: str) -> str | None:
        return None if v == "none" else v

    return Routing(colour(m["live"]), colour(m["preview"]), m["gen"])


def new_generation() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


class Router:
    def __init__(self, client: Any, target: Target, log: Log) -> None:
        self.client = client
        self.target = target
        self.log = log

    def container(self) -> dh.Container | None:
        return dh.get_container(self.client, self.target.router_name)

    def routing(self) -> Routing | None:
        """What the router's upstream.conf says now; None without a router or file."""
        c = self.container()
        if c is None:
            return None
        return parse_routing(dh.get_file(c, f"{CONF_DIR}/{UPSTREAM}"))

    def ensure(self, initial: Callable[[], Routing]) -> tuple[dh.Container, bool]:
        """The router running; created (pointing at `initial()`) when it is missing."""
        t = self.target
        c = self.container()
        if c is not None:
            st = dh.state(c)
            if st == "running":
                return c, False
            self.log(f"router {t.router_name} is {st}; starting it")
            if parse_routing(dh.get_file(c, f"{CONF_DIR}/{UPSTREAM}")) is None:
                self._write_initial(c, initial())
            c.start()
            self._wait_answering(c)
            return c, False
        self.log(f"router {t.router_name} is missing; creating it")
        dh.ensure_image(self.client, t.router_image, "router image")
        dh.ensure_network(self.client, t)
        if not t.conf_mount.startswith("/"):
            dh.ensure_volume(self.client, t, t.conf_mount)
        c = self.client.containers.create(
            t.router_image,
            command=["nginx", "-g", "daemon off;"],
            name=t.router_name,
            labels={LABEL_PROJECT: t.project, LABEL_ROLE: "router"},
            network=t.network_name,
            ports={
                f"{LIVE_PORT}/tcp": (t.router_bind, t.router_port),
                f"{PREVIEW_PORT}/tcp": (t.preview_bind_addr, t.preview_port),
            },
            volumes={t.conf_mount: {"bind": CONF_DIR, "mode": "rw"}},
            restart_policy={"Name": "unless-stopped"},
        )
        dh.put_files(c, "/etc/nginx", {"nginx.conf": MAIN_CONF})
        self._write_initial(c, initial())
        try:
            c.start()
        except dh.APIError as exc:
            dh.remove(c)
            raise DeployError(f"router {t.router_name} could not start: {exc.explanation}") from None
        self._wait_answering(c)
        return c, True

    def _write_initial(self, c: dh.Container, routing: Routing) -> None:
        routing = Routing(routing.live, routing.preview, routing.generation or new_generation())
        self.log(f"router config: live={routing.live or 'none'} preview={routing.preview or 'none'}")
        dh.put_files(
            c,
            CONF_DIR,
            {SERVERS: render_servers(self.target), UPSTREAM: render_upstream(self.target, routing)},
        )

    def _wait_answering(self, c: dh.Container, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if dh.state(c) not in ("running", "created", "restarting"):
                break
            if self.marker(self.target.live_url) is not None:
                return
            time.sleep(0.1)
        raise DeployError(
            f"router {self.target.router_name} does not answer on {self.target.live_url}: {dh.logs_tail(c)}"
        )

    def marker(self, base_url: str) -> Routing | None:
        try:
            r = httpx.get(f"{base_url}/__neosale/router", timeout=2.0, headers={"Connection": "close"})
        except httpx.HTTPError:
            return None
        if r.status_code != 200:
            return None
        fields = dict(part.split("=", 1) for part in r.text.split() if "=" in part)

        def colour(v: str) -> str | None:
            return None if v in ("none", "") else v

        return Routing(
            colour(fields.get("live", "")), colour(fields.get("preview", "")), fields.get("generation", "")
        )

    def apply(self, live: str | None, preview: str | None) -> Routing:
        """Point the router at `live`/`preview`; returns once the new workers answer."""
        routing = Routing(live, preview, new_generation())
        # One exec, by name, writes the temp file and switches: round trips count in a rollback.
        conf = render_upstream(self.target, routing)
        write = f"set -u\ncd {CONF_DIR}\ncat >.{UPSTREAM}.new <<'NEOSALE_EOF'\n{conf}NEOSALE_EOF\n"
        try:
            code, out = dh.exec_sh(dh.handle(self.client, self.target.router_name), write + SWITCH_SCRIPT)
        except dh.APIError as exc:  # missing (404) or not running (409)
            raise DeployError(
                f"router {self.target.router_name} cannot be switched ({exc.explanation}); "
                "rerun deploy or reconcile to recreate it"
            ) from None
        if code == 3:
            raise DeployError(
                f"nginx -t refused the new upstream.conf (old file restored, traffic unchanged): {out}"
            )
        if code != 0:
            raise DeployError(f"nginx reload failed in {self.target.router_name} (exit {code}): {out}")
        self._wait_generation(routing.generation)
        return routing

    def _wait_generation(self, generation: str, timeout: float = 10.0) -> None:
        # Two answers in a row: the master starts new workers before it tells
        # the old ones to stop accepting.
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            m = self.marker(self.target.live_url)
            seen = seen + 1 if m is not None and m.generation == generation else 0
            if seen >= 2:
                return
            time.sleep(0.01)
        raise DeployError(f"router did not load generation {generation} within {timeout:.0f}s")
