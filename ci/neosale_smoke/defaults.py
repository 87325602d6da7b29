"""The built-in NEOSALE checks.

NEOSALE's public URL is nginx, which sends `/api/*` to the backend and
everything else to the frontend. Hence three base URLs: `public` (nginx),
`frontend` and `backend` (the apps themselves). The frontend's own
`/api/health` and the backend's `/health` and `/ready` are not reachable
through nginx, so the checks on them need `frontend_url` / `backend_url` and
are skipped (visibly, in every report) when those are not set. The backend's
`/version` is, as `/api/version`: the revision a user gets is checked there.
"""

from __future__ import annotations

from collections.abc import Mapping

from .spec import CheckSpec, JSONScalar, Kind, RetryOverride, Target

_BACKEND_MARKER: Mapping[str, JSONScalar] = {"status": "ok", "service": "neosale-backend"}

DEFAULT_CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        "frontend_health",
        Kind.HTTP,
        Target.FRONTEND,
        "/api/health",
        description="frontend liveness, on the frontend itself (nginx sends /api/ to the backend)",
        expect_json={"status": "ok", "service": "neosale-frontend"},
    ),
    CheckSpec(
        "api_health",
        Kind.HTTP,
        Target.PUBLIC,
        "/api/health",
        description="backend liveness through nginx (/api/health is the backend's /health)",
        expect_json=_BACKEND_MARKER,
    ),
    CheckSpec(
        "backend_health",
        Kind.HTTP,
        Target.BACKEND,
        "/health",
        description="backend liveness",
        expect_json=_BACKEND_MARKER,
    ),
    CheckSpec(
        "backend_ready",
        Kind.HTTP,
        Target.BACKEND,
        "/ready",
        description="backend readiness (PostgreSQL, Redis)",
        expect_json={"status": "ready"},
    ),
    CheckSpec(
        "backend_version",
        Kind.VERSION,
        Target.PUBLIC,
        "/api/version",
        description="deployed backend revision, through nginx (/api/version is the backend's /version)",
    ),
    CheckSpec(
        "home",
        Kind.HTTP,
        Target.PUBLIC,
        "/",
        description="home page renders with the catalogue",
        expect_text=("NEOSALE",),
        # The page still answers 200 when the frontend cannot reach the backend.
        forbid_text=('data-testid="products-unavailable"',),
    ),
    CheckSpec(
        "products",
        Kind.HTTP,
        Target.PUBLIC,
        "/api/products",
        description="product catalogue API",
        expect_list=True,
    ),
    CheckSpec(
        "static_asset",
        Kind.STATIC,
        Target.PUBLIC,
        "",
        description="a Next.js build asset linked from the home page",
    ),
    CheckSpec(
        "latency",
        Kind.LATENCY,
        Target.PUBLIC,
        "/api/health",
        description="p95 latency of /api/health through nginx",
        # A second sample absorbs a cold start; more would hide a real regression.
        retry=RetryOverride(attempts=2),
    ),
)
