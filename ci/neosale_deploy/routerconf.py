"""The router's nginx files, as text: no Docker, no network.

The router runs the repository's own nginx/ configuration: its nginx.conf
(http settings, the public server on LIVE_PORT) and conf.d/neosale-routes.inc
(routes, limits, headers), which the public server includes. The deployer adds
two generated files to conf.d/: upstream.conf (the live colour's servers, the
preview addresses, a header naming both) and neosale-preview.conf, a second
server on PREVIEW_PORT that includes the same routes for the idle colour and
carries the deployer's probes. Nothing deployer-specific is served on the
public port.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from neosale_deploy.errors import UsageError
from neosale_deploy.model import COLOURS, App, Target, other_colour

CONF_DIR = "/etc/nginx/conf.d"
MAIN_CONF = "/etc/nginx/nginx.conf"
UPSTREAM = "upstream.conf"
PREVIEW = "neosale-preview.conf"
ROUTES = "neosale-routes.inc"
LIVE_PORT = 8080
PREVIEW_PORT = 8081
# A closed port: "no colour" answers 502 instead of failing `nginx -t`.
NOWHERE = "127.0.0.1:9"
# Where the repository's nginx/ is when the deployer runs from a checkout.
CHECKOUT_CONF = Path(__file__).resolve().parents[2] / "nginx"
_HEADER = re.compile(
    r"^# neosale-deploy live=(?P<live>\S+) preview=(?P<preview>\S+) generation=(?P<gen>\S*)$", re.M
)
_SERVER = re.compile(r"upstream\s+neosale_(?P<role>backend|frontend)\s*\{[^}]*?\bserver\s+(?P<addr>[^\s;]+)")


@dataclass(frozen=True)
class RouterFiles:
    """The repository's nginx.conf and routes, which the router runs unchanged."""

    main: str
    routes: str

    @classmethod
    def load(cls, directory: str = "") -> RouterFiles:
        """From `directory` (else $NEOSALE_ROUTER_CONF, else the checkout's nginx/)."""
        root = Path(directory or os.environ.get("NEOSALE_ROUTER_CONF", "") or CHECKOUT_CONF)
        main, routes = root / "nginx.conf", root / "conf.d" / ROUTES
        for path in (main, routes):
            if not path.is_file():
                raise UsageError(
                    f"router configuration {root}: {path.relative_to(root)} is missing; expected the "
                    "repository's nginx/ folder (router_conf in the target file, --router-conf or "
                    "NEOSALE_ROUTER_CONF)"
                )
        files = cls(main.read_text(), routes.read_text())
        files.check(str(root))
        return files

    def check(self, where: str) -> None:
        needs = {
            f"listen {LIVE_PORT}": rf"^\s*listen\s+{LIVE_PORT}\b",
            "include conf.d/*.conf": r"^\s*include\s+conf\.d/\*\.conf;",
            f"include conf.d/{ROUTES}": rf"^\s*include\s+conf\.d/{re.escape(ROUTES)};",
        }
        missing = [what for what, rx in needs.items() if not re.search(rx, self.main, re.M)]
        if missing:
            raise UsageError(
                f"router configuration {where}/nginx.conf lacks {', '.join(missing)}: the router "
                "needs its public server there, the upstreams and the shared routes"
            )


@dataclass(frozen=True)
class Routing:
    """Which colour each side of the router serves; `drift` says why the file is not ours."""

    live: str | None
    preview: str | None
    generation: str = ""
    drift: str = ""


def new_generation() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def _addr(target: Target, colour: str | None, role: str) -> str:
    if colour is None:
        return NOWHERE
    return f"{target.container_name(colour, role)}:{target.roles[role].port}"


def render_upstream(target: Target, routing: Routing) -> str:
    live, preview = routing.live or "none", routing.preview or "none"
    return f"""# neosale-deploy live={live} preview={preview} generation={routing.generation}
# Written by neosale-deploy at each switch: run its reconcile after a hand edit.
upstream neosale_backend {{
    server {_addr(target, routing.live, App.BACKEND)};
    keepalive 16;
}}
upstream neosale_frontend {{
    server {_addr(target, routing.live, App.FRONTEND)};
    keepalive 16;
}}
map $host $neosale_live {{ default "{live}"; }}
map $host $neosale_preview {{ default "{preview}"; }}
map $host $neosale_generation {{ default "{routing.generation}"; }}
map $host $neosale_preview_backend {{ default "{_addr(target, routing.preview, App.BACKEND)}"; }}
map $host $neosale_preview_frontend {{ default "{_addr(target, routing.preview, App.FRONTEND)}"; }}
"""


def _probes(target: Target) -> str:
    """Exact locations for each app's health endpoints, of the idle and of the live colour.

    The live ones go through the live upstream groups, as public traffic does,
    and tell the app it is reached as live (X-Neosale-Via).
    """
    b, f = target.roles[App.BACKEND], target.roles[App.FRONTEND]
    named = {"health": b.health_path, "ready": b.ready_path, "version": b.version_path}
    paths = [(App.BACKEND, name, path) for name, path in named.items() if path]
    paths.append((App.FRONTEND, "health", f.health_path))
    out = []
    for role, name, path in paths:
        upstream = f"http://$neosale_preview_{role}{path}"
        out.append(f"    location = /__neosale/{role}/{name} {{ proxy_pass {upstream}; }}")
        out.append(
            f"    location = /__neosale/live/{role}/{name} {{\n"
            '        proxy_set_header Connection "";\n'
            "        proxy_set_header X-Neosale-Via live;\n"
            f"        proxy_pass http://neosale_{role}{path};\n    }}"
        )
    return "\n".join(out)


def render_preview(target: Target) -> str:
    return f"""# Written by neosale-deploy: the idle colour behind the same routes as the
# public server, and the deployer's probes. Bind this port to a private address.
server {{
    listen {PREVIEW_PORT};
    server_name _;
    # The idle colour is resolved per request (docker's DNS): a missing one is a
    # 502 here rather than a config that fails `nginx -t`.
    resolver 127.0.0.11 valid=1s ipv6=off;
    set $neosale_backend $neosale_preview_backend;
    set $neosale_frontend $neosale_preview_frontend;
    include conf.d/{ROUTES};
    proxy_set_header X-Neosale-Via preview;
    add_header X-Neosale-Colour $neosale_preview always;
    location = /__neosale/router {{
        default_type text/plain;
        return 200 "live=$neosale_live preview=$neosale_preview generation=$neosale_generation\\n";
    }}
{_probes(target)}
    # Each app of the idle colour on its own, for the smoke runner.
    location ~ ^/__neosale/backend(/.*)$ {{ proxy_pass http://$neosale_preview_backend$1$is_args$args; }}
    location ~ ^/__neosale/frontend(/.*)$ {{ proxy_pass http://$neosale_preview_frontend$1$is_args$args; }}
}}
"""


def _colour_of(target: Target, role: str, addr: str) -> str | None:
    for colour in COLOURS:
        if addr == _addr(target, colour, role):
            return colour
    return None


def parse_routing(target: Target, text: str | None) -> Routing | None:
    """The routing upstream.conf puts in force, read from its servers (what nginx
    serves), with `drift` set when the file is not as the deployer wrote it.
    None: no file, or servers that are not one of this target's colours."""
    if not text:
        return None
    servers = {m["role"]: m["addr"] for m in _SERVER.finditer(text)}
    if set(servers) != set(App):
        return None
    if all(a == NOWHERE for a in servers.values()):
        live = None
    else:
        colours = {_colour_of(target, role, a) for role, a in servers.items()}
        if len(colours) != 1 or None in colours:
            return None
        live = colours.pop()
    m = _HEADER.search(text)
    if m is None:
        return Routing(live, _other(live), "", "upstream.conf has no neosale-deploy header (edited by hand)")
    said = None if m["live"] == "none" else m["live"]
    preview = None if m["preview"] == "none" else m["preview"]
    if said != live:
        drift = (
            f"upstream.conf was edited by hand: its header says live={m['live']}, "
            f"its servers are {live or 'none'}"
        )
        return Routing(live, _other(live), m["gen"], drift)
    return Routing(live, preview, m["gen"])


def _other(colour: str | None) -> str:
    return other_colour(colour) if colour else COLOURS[0]


# The workers serving now, by pid: /proc/PID/cmdline is the title nginx sets.
_WORKERS = """workers() {
  for d in /proc/[0-9]*; do
    case "$(tr '\\0' ' ' <"$d/cmdline" 2>/dev/null)" in
      *"shutting down"*) ;;
      "nginx: worker process"*) printf '%s ' "${d#/proc/}" ;;
    esac
  done
}"""
# After a reload, until each old worker is gone or "is shutting down" (it
# closed its listening sockets, so it accepts nothing new), at most 10 s: only
# then is every new connection the new configuration's.
_DRAINED = """for _ in $(seq 1000); do
  busy=0 now=" $(workers)"
  for pid in $old; do case "$now" in *" $pid "*) busy=1 ;; esac; done
  [ "$busy" = 0 ] && break
  sleep 0.01
done"""


def swap_script(files: dict[str, str]) -> str:
    """sh: write each file under a hidden temp name, rename it in, `nginx -t`
    (exit 3 and every old file back on failure), then reload (exit 4) and wait
    until the old workers accept no more connections."""
    lines = ["set -u"]
    for path, text in files.items():
        lines += [f"cat >{_tmp(path)}.new <<'NEOSALE_EOF'", text.rstrip("\n"), "NEOSALE_EOF"]
    for path in files:
        bak = f"{_tmp(path)}.bak"
        lines.append(f"if [ -f {path} ]; then cp -p {path} {bak}; else rm -f {bak}; fi")
        lines.append(f"mv -f {_tmp(path)}.new {path}")
    restore = " ".join(
        f"if [ -f {_tmp(p)}.bak ]; then mv -f {_tmp(p)}.bak {p}; else rm -f {p}; fi;" for p in files
    )
    lines.append(f'if ! out=$(nginx -t 2>&1); then {restore} echo "$out"; exit 3; fi')
    lines += [_WORKERS, "old=$(workers)", "nginx -s reload 2>&1 || exit 4", _DRAINED]
    return "\n".join(lines) + "\n"


def _tmp(path: str) -> str:
    head, _, name = path.rpartition("/")
    return f"{head}/.{name}"
