"""The smoke runner's judgement of an answer, without a server: each rule says
what it expected and what it got."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from neosale_smoke import DEFAULT_CHECKS, CheckSpec, Kind
from neosale_smoke.checktoml import FIELD_READERS
from neosale_smoke.spec import KIND_KEYS
from neosale_smoke.verdict import (
    asset_url,
    asset_verdict,
    http_verdict,
    latency_verdict,
    percentile,
    snippet,
    version_verdict,
)

URL = "http://127.0.0.1:8080/api/health"
HTTP = CheckSpec("probe", Kind.HTTP)
VERSION = CheckSpec("version", Kind.VERSION)


def answer(status: int = 200, *, json: Any = None, text: str | None = None, url: str = URL) -> httpx.Response:
    request = httpx.Request("GET", url)
    if json is not None:
        return httpx.Response(status, json=json, request=request)
    return httpx.Response(status, text=text or "", request=request)


def test_expect_json_wants_the_same_kind_of_value() -> None:
    spec = replace(HTTP, expect_json={"ok": True, "n": 1})
    assert http_verdict(spec, answer(json={"ok": True, "n": 1.0, "x": 2})).ok
    got = http_verdict(spec, answer(json={"ok": 1, "n": 1}))
    assert (got.ok, got.status_code) == (False, 200)
    assert got.reason == "expected JSON ok=true, got 1"
    missing = http_verdict(spec, answer(json={"ok": True}))
    assert missing.reason.startswith("expected JSON n=1, key missing in ")


def test_expect_json_on_a_non_object_or_non_json_body() -> None:
    spec = replace(HTTP, expect_json={"status": "ok"})
    assert (
        http_verdict(spec, answer(json=["ok"])).reason
        == 'expected a JSON object with {"status": "ok"}, got ["ok"]'
    )
    html = http_verdict(spec, answer(text="<html>down</html>"))
    assert html.reason == "expected a JSON body, got text/plain; charset=utf-8: <html>down</html>"


def test_expect_list_counts_items_of_an_array_or_an_items_field() -> None:
    spec = replace(HTTP, expect_list=True, min_items=2)
    assert http_verdict(spec, answer(json=[1, 2, 3])).details == {"items": 3}
    assert http_verdict(spec, answer(json={"items": [1, 2]})).reason == "HTTP 200, 2 items"
    assert http_verdict(spec, answer(json=[1])).reason == "expected at least 2 items, got 1"
    assert not http_verdict(spec, answer(json={"products": []})).ok


def test_body_text_wanted_and_forbidden() -> None:
    spec = replace(HTTP, expect_text=("NEOSALE",), forbid_text=("unavailable",))
    assert http_verdict(spec, answer(text="NEOSALE shop")).reason == "HTTP 200"
    assert (
        http_verdict(spec, answer(text="shop")).reason == "expected the body to contain 'NEOSALE', got: shop"
    )
    banned = http_verdict(spec, answer(text="NEOSALE unavailable"))
    assert banned.reason == "expected the body not to contain 'unavailable', but it does"


def test_version_compares_the_sha_case_insensitively() -> None:
    sha = "a" * 40
    assert version_verdict(VERSION, answer(json={"sha": sha}), sha.upper()).details == {"sha": sha}
    other = version_verdict(VERSION, answer(json={"sha": "b" * 40}), sha)
    assert not other.ok
    assert other.reason == f"expected sha {sha!r}, got {'b' * 40!r}"
    unchecked = version_verdict(VERSION, answer(json={"sha": sha}), None)
    assert unchecked.ok
    assert unchecked.reason.endswith("(not compared: no expected sha given)")
    assert not version_verdict(VERSION, answer(json={"sha": ""}), None).ok


def test_asset_url_is_the_first_next_static_link_made_absolute() -> None:
    page = answer(text='<link href="/a.css"><script src="/_next/static/x.js?v=1&amp;b=2"></script>')
    assert asset_url(page) == "http://127.0.0.1:8080/_next/static/x.js?v=1&b=2"
    assert asset_url(answer(text="<p>no assets</p>")) is None


def test_asset_wants_the_status_and_a_body() -> None:
    spec = CheckSpec("static_asset", Kind.STATIC, path="")
    asset = "http://h/_next/static/x.js"
    assert asset_verdict(spec, asset, answer(text="js")).details == {"asset": asset}
    empty = asset_verdict(spec, asset, answer(text=""))
    assert (empty.ok, empty.url) == (False, asset)
    assert (
        asset_verdict(spec, asset, answer(404, text="gone")).reason
        == f"{asset}: expected HTTP 200, got 404: gone"
    )


def test_latency_judges_the_p95_against_the_budget() -> None:
    spec = CheckSpec("latency", Kind.LATENCY, p95_ms=100.0)
    fast = latency_verdict(spec, [10.0] * 19 + [90.0])
    assert fast.ok
    assert fast.details["p95_ms"] == 10.0
    slow = latency_verdict(spec, [10.0] * 18 + [150.0, 200.0])
    assert not slow.ok
    assert slow.reason.startswith("expected p95 <= 100 ms over 20 requests, got 150.0 ms")


@pytest.mark.parametrize(("pct", "want"), [(50, 2.0), (95, 4.0), (100, 4.0), (0, 1.0)])
def test_percentile_is_an_observed_value(pct: float, want: float) -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], pct) == want


def test_snippet_is_one_short_printable_line() -> None:
    assert snippet("a\n\tb\x00  c") == "a b c"
    long = snippet("x" * 500)
    assert len(long) == 160
    assert long.endswith("…")


def test_every_check_key_has_a_reader() -> None:
    keys = set().union(*KIND_KEYS.values()) - {"kind", "retry"}
    assert set(FIELD_READERS) == keys
    assert all(c.kind in KIND_KEYS for c in DEFAULT_CHECKS)
