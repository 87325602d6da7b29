"""The nginx router: live port -> active colour, preview port -> the other colour.

It runs the repository's nginx/ configuration (see routerconf). A switch
rewrites one file, conf.d/upstream.conf, in a mounted DIRECTORY (a
bind-mounted single file keeps its inode after a rename and reload would see
nothing): write a hidden temp file, rename it over, `nginx -t`, and only then
`nginx -s reload`; when the test fails the old file is put back, so the router
is never half switched. Old workers finish their in-flight requests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

import httpx

from neosale_deploy import dockerhost as dh
from neosale_deploy.errors import DeployError
from neosale_deploy.model import LABEL_PROJECT, LABEL_ROLE, Target
from neosale_deploy.routerconf import (
    CONF_DIR,
    LIVE_PORT,
    MAIN_CONF,
    PREVIEW,
    PREVIEW_PORT,
    ROUTES,
    UPSTREAM,
    RouterFiles,
    Routing,
    new_generation,
    parse_routing,
    render_preview,
    render_upstream,
    swap_script,
)

Log = Callable[[str], None]


class Router:
    def __init__(self, client: Any, target: Target, log: Log) -> None:
        self.client = client
        self.target = target
        self.log = log

    @cached_property
    def files(self) -> RouterFiles:
        return RouterFiles.load(self.target.router_conf)

    def container(self) -> dh.Container | None:
        return dh.get_container(self.client, self.target.names.router)

    def routing(self) -> Routing | None:
        """What the router's upstream.conf puts in force; None without a router or a readable file."""
        c = self.container()
        if c is None:
            return None
        return parse_routing(self.target, dh.get_file(c, f"{CONF_DIR}/{UPSTREAM}"))

    def static_files(self) -> dict[str, str]:
        """Every file the router runs but upstream.conf, by path."""
        return {
            MAIN_CONF: self.files.main,
            f"{CONF_DIR}/{ROUTES}": self.files.routes,
            f"{CONF_DIR}/{PREVIEW}": render_preview(self.target),
        }

    def ensure(self, initial: Callable[[], Routing]) -> tuple[dh.Container, bool]:
        """The router running the repository's configuration; created (pointing at
        `initial()`) when missing, its upstream.conf rewritten when unreadable."""
        c = self.container()
        if c is None:
            return self._create(initial()), True
        stale = self._stale_files(c, initial)
        if dh.state(c) == "running":
            if stale:
                self.log(f"router {self.target.names.router}: updating {', '.join(sorted(stale))}")
                self._swap(stale)
            return c, False
        self.log(f"router {self.target.names.router} is {dh.state(c, reload=False)}; starting it")
        self._put(c, stale)
        self._start(c)
        return c, False

    def _stale_files(self, c: dh.Container, initial: Callable[[], Routing]) -> dict[str, str]:
        have = dh.get_files(c, CONF_DIR) | {MAIN_CONF: dh.get_file(c, MAIN_CONF) or ""}
        have = {(k if k.startswith("/") else f"{CONF_DIR}/{k}"): v for k, v in have.items()}
        want = self.static_files()
        stale = {path: text for path, text in want.items() if have.get(path) != text}
        current = have.get(f"{CONF_DIR}/{UPSTREAM}")
        if parse_routing(self.target, current) is None:
            if current:
                self.log("upstream.conf does not point at one colour of this project (edited by hand?)")
            stale[f"{CONF_DIR}/{UPSTREAM}"] = self._initial_upstream(initial())
        return stale

    def _initial_upstream(self, routing: Routing) -> str:
        routing = Routing(routing.live, routing.preview, routing.generation or new_generation())
        self.log(f"router config: live={routing.live or 'none'} preview={routing.preview or 'none'}")
        return render_upstream(self.target, routing)

    def _create(self, routing: Routing) -> dh.Container:
        t = self.target
        files = self.static_files()  # a bad router configuration stops us before anything exists
        self.log(f"router {t.names.router} is missing; creating it")
        dh.ensure_image(self.client, t.router_image, "router image")
        dh.ensure_network(self.client, t)
        if not t.names.conf_mount.startswith("/"):
            dh.ensure_volume(self.client, t, t.names.conf_mount)
        c = self.client.containers.create(
            t.router_image,
            command=["nginx", "-g", "daemon off;"],
            name=t.names.router,
            labels={LABEL_PROJECT: t.project, LABEL_ROLE: "router"},
            network=t.names.network,
            ports={
                f"{LIVE_PORT}/tcp": (t.router_bind, t.router_port),
                f"{PREVIEW_PORT}/tcp": (t.preview_bind_addr, t.preview_port),
            },
            volumes={t.names.conf_mount: {"bind": CONF_DIR, "mode": "rw"}},
            restart_policy={"Name": "unless-stopped"},
        )
        self._put(c, files | {f"{CONF_DIR}/{UPSTREAM}": self._initial_upstream(routing)})
        self._start(c)
        return c

    def _put(self, c: dh.Container, files: dict[str, str]) -> None:
        by_dir: dict[str, dict[str, str]] = {}
        for path, text in files.items():
            head, _, name = path.rpartition("/")
            by_dir.setdefault(head, {})[name] = text
        for directory, named in by_dir.items():
            dh.put_files(c, directory, named)

    def _start(self, c: dh.Container) -> None:
        try:
            c.start()
        except dh.APIError as exc:
            raise DeployError(
                f"router {self.target.names.router} could not start: {exc.explanation}"
            ) from None
        self._wait_answering(c)

    def _wait_answering(self, c: dh.Container, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if dh.state(c) not in ("running", "created", "restarting"):
                break
            if self.marker() is not None:
                return
            time.sleep(0.1)
        t = self.target
        raise DeployError(f"router {t.names.router} does not answer on {t.preview_url}: {dh.logs_tail(c)}")

    def marker(self) -> Routing | None:
        """The routing the router's workers have loaded (asked on the private preview port)."""
        try:
            r = httpx.get(
                f"{self.target.preview_url}/__neosale/router", timeout=2.0, headers={"Connection": "close"}
            )
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
        self._swap({f"{CONF_DIR}/{UPSTREAM}": render_upstream(self.target, routing)})
        self._wait_generation(routing.generation)
        return routing

    def _swap(self, files: dict[str, str]) -> None:
        # One exec, by name, writes the temp files and switches: round trips count in a rollback.
        try:
            code, out = dh.exec_sh(dh.handle(self.client, self.target.names.router), swap_script(files))
        except dh.APIError as exc:  # missing (404) or not running (409)
            raise DeployError(
                f"router {self.target.names.router} cannot be switched ({exc.explanation}); "
                "rerun deploy or reconcile to recreate it"
            ) from None
        if code == 3:
            raise DeployError(
                f"nginx -t refused the new configuration (old files restored, traffic unchanged): {out}"
            )
        if code != 0:
            raise DeployError(f"nginx reload failed in {self.target.names.router} (exit {code}): {out}")

    def _wait_generation(self, generation: str, timeout: float = 10.0) -> None:
        # Two answers in a row: the master starts new workers before it tells
        # the old ones to stop accepting.
        deadline = time.monotonic() + timeout
        seen = 0
        while time.monotonic() < deadline:
            m = self.marker()
            seen = seen + 1 if m is not None and m.generation == generation else 0
            if seen >= 2:
                return
            time.sleep(0.01)
        raise DeployError(f"router did not load generation {generation} within {timeout:.0f}s")
