"""Real HTTP servers on 127.0.0.1 answering like NEOSALE's nginx, frontend and backend."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

SHA = "3f2a9c1d4e5b6a7980c1d2e3f4a5b6c7d8e9f001"
STATIC_PATH = "/_next/static/chunks/app-3f2a9c.css"
HOME_HTML = (
    '<!DOCTYPE html><html lang="en"><head><meta charSet="utf-8"/>'
    f'<link rel="stylesheet" href="{STATIC_PATH}" data-precedence="next"/></head>'
    '<body><header><a class="brand" href="/">NEOSALE</a></header><main><section class="hero">'
    "<h1>NEOSALE</h1></section><h2>Products</h2><ul><li>Starter kit</li></ul></main></body></html>"
)
UNAVAILABLE_HTML = HOME_HTML.replace(
    "<ul><li>Starter kit</li></ul>",
    '<p class="notice notice-error" role="alert" data-testid="products-unavailable">'
    "Products are unavailable right now</p>",
)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: object = b""  # bytes or str as is; anything else is sent as JSON
    content_type: str | None = None
    delay_s: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, str]:
        if isinstance(self.body, bytes):
            return self.body, self.content_type or "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), self.content_type or "text/html; charset=utf-8"
        return json.dumps(self.body).encode(), self.content_type or "application/json; charset=utf-8"


# A route answers with a fixed Reply, or computes one from its 1-based hit count.
Route = Reply | Callable[[int], Reply]


def fail_then(failures: int, failing: Reply, ok: Reply) -> Callable[[int], Reply]:
    return lambda hit: failing if hit <= failures else ok


NOT_FOUND = Reply(404, "<!DOCTYPE html><title>404</title><h1>This page could not be found.</h1>")


class FakeServer:
    """A threaded HTTP server on an ephemeral loopback port; `routes` may change while it runs."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        # A short poll keeps shutdown() quick; the default 0.5 s adds up over many tests.
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def reply_for(self, path: str) -> Reply:
        with self._lock:
            self.hits[path] += 1
            hit = self.hits[path]
        route = self.routes.get(path, NOT_FOUND)
        return route if isinstance(route, Reply) else route(hit)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; Nagle would delay keep-alive answers by ~40 ms.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                reply = server.reply_for(self.path.split("?", 1)[0])
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                body, ctype = reply.encoded()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): nothing left to answer

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def backend_routes(sha: str = SHA) -> dict[str, Route]:
    """The Express backend (backend/src/http/routes.ts)."""
    return {
        "/health": Reply(body={"status": "ok", "service": "neosale-backend"}),
        "/ready": Reply(body={"status": "ready", "checks": {"database": "ok", "redis": "ok"}}),
        "/version": Reply(body={"sha": sha, "buildTime": "2026-11-28T00:00:00Z", "version": "1.4.0"}),
        "/api/products": Reply(body={"items": [{"id": "p1", "name": "Starter kit", "priceCents": 4900}]}),
    }


def frontend_routes() -> dict[str, Route]:
    """The Next.js frontend (frontend/src/app): its own /api/health, pages and build assets."""
    return {
        "/api/health": Reply(body={"status": "ok", "service": "neosale-frontend"}),
        "/": Reply(body=HOME_HTML),
        STATIC_PATH: Reply(body=b".hero{color:#111}", content_type="text/css"),
        "/robots.txt": Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"),
    }


def nginx_routes(frontend: FakeServer, backend: FakeServer) -> dict[str, Route]:
    """nginx/nginx.conf: its own /health, /api/health and /api/version -> backend /health and
    /version, /api/ -> backend, rest -> frontend.

    Forwarding goes through the other servers' route tables, so changing a
    backend route changes what the public URL answers too.
    """

    def to(server: FakeServer, path: str) -> Callable[[int], Reply]:
        return lambda _hit: server.reply_for(path)

    return {
        "/health": Reply(body={"status": "ok", "service": "neosale-nginx"}),
        "/api/health": to(backend, "/health"),
        "/api/version": to(backend, "/version"),
        "/api/products": to(backend, "/api/products"),
        "/": to(frontend, "/"),
        STATIC_PATH: to(frontend, STATIC_PATH),
        "/robots.txt": to(frontend, "/robots.txt"),
        # Not routed to the backend: the frontend answers 404, as through the real nginx.
        "/ready": NOT_FOUND,
        "/version": NOT_FOUND,
    }
