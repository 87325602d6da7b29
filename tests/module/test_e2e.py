"""`stack` and `e2e` against the real engine and the stand-in images: the
journeys pass on the source, fail with Playwright's report on a planted UI
defect, and bad inputs fail before anything is built."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import dagger
import httpx
import pytest
from dagger import dag

from neosale_ci import Neosale
from neosale_ci.e2e import STAGE, EndToEndRun, summarize_junit
from neosale_ci.errors import StageError
from neosale_ci.hostnet import check_url
from tests.module_api import module_api

engine = [pytest.mark.engine, pytest.mark.anyio]

JOURNEYS = {
    "home page loads",
    "products render from the API",
    "a lead submitted through the form appears in /leads",
    "a duplicate email shows the already-registered message",
}
LEAD_FORM = "frontend/src/components/LeadForm.tsx"


def with_source(mod: Neosale, source: dagger.Directory) -> Neosale:
    mod.source = source
    return mod


async def junit_of(run: EndToEndRun) -> ET.Element:
    return ET.fromstring(await run.junit().contents())  # noqa: S314 -- our own report


def failed(case: ET.Element) -> bool:
    return case.find("failure") is not None or case.find("error") is not None


@pytest.mark.parametrize(
    "url", ["ftp://staging.example.com", "staging.example.com", "http://", "https://x.example/?a=1"]
)
def test_base_url_must_be_http_with_a_host(url: str) -> None:
    with pytest.raises(StageError, match="base_url"):
        check_url(STAGE, "base_url", url)


def test_base_url_loses_its_trailing_slash() -> None:
    assert (
        check_url(STAGE, "base_url", "https://staging.example.com:8443/")
        == "https://staging.example.com:8443"
    )


def test_junit_summary_names_failures() -> None:
    xml = (
        '<testsuites tests="2" failures="1"><testsuite name="journey.spec.ts">'
        '<testcase name="ok" classname="journey.spec.ts"/>'
        '<testcase name="broken" classname="journey.spec.ts">'
        '<failure message="journey.spec.ts:10:5 broken" type="FAILURE">\nError: timeout\n</failure>'
        "</testcase></testsuite></testsuites>"
    )
    summary = summarize_junit(xml)
    assert summary.tests == 2
    assert summary.failed == ["journey.spec.ts > broken: journey.spec.ts:10:5 broken"]


@engine[0]
@engine[1]
async def test_stack_and_e2e_as_dagger_call_sees_them(dag_client: object) -> None:
    api = await module_api()
    stack, e2e = api.function("Neosale", "stack"), api.function("Neosale", "end-to-end")
    assert stack is not None
    assert e2e is not None
    assert set(stack.args) == {"sha", "origin"}
    assert not any(a.required for a in stack.args.values())  # `dagger call stack up` as is
    assert set(e2e.args) == {"baseUrl", "sha"}
    assert e2e.returns == "EndToEndRun"
    assert {"reports", "junit", "summary", "verdict"} <= set(api.names()["EndToEndRun"])


@engine[0]
@engine[1]
async def test_bad_inputs_fail_before_any_build(neosale: Neosale) -> None:
    with pytest.raises(StageError, match=r"base_url 'ftp://staging\.example\.com' is not an http\(s\) URL"):
        await neosale.end_to_end(base_url="ftp://staging.example.com")
    with pytest.raises(StageError, match=r"stack: commit sha 'abc' is not a full 40-hex"):
        await neosale.stack(sha="abc")
    with pytest.raises(StageError, match="origin 'localhost:8080' is not an http"):
        await neosale.stack(origin="localhost:8080")


@engine[0]
@engine[1]
async def test_stack_serves_the_apps_through_nginx_on_localhost(neosale: Neosale) -> None:
    """What `dagger call stack up` gives a developer: the router on a host port."""
    router = await neosale.stack()
    tunnel = await dag.host().tunnel(router, native=False).start()
    try:
        url = await tunnel.endpoint(scheme="http")
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            assert (await client.get("/health")).json()["service"] == "neosale-nginx"
            assert (await client.get("/api/health")).status_code == 200
            products = (await client.get("/api/products")).json()
            assert products["items"]
            home = await client.get("/")
            assert home.status_code == 200
            assert "NEOSALE" in home.text
    finally:
        await tunnel.stop()
        await router.stop(kill=True)


@engine[0]
@engine[1]
async def test_e2e_passes_against_the_ephemeral_stack(neosale: Neosale) -> None:
    run = await neosale.end_to_end()
    assert run.passed, run.output
    assert run.verdict() == f"e2e: 4 journeys passed against {run.base_url}"
    junit = await junit_of(run)
    assert (junit.get("failures"), junit.get("errors")) == ("0", "0")
    assert {case.get("name") for case in junit.iter("testcase")} == JOURNEYS
    assert "html/index.html" in await run.reports().glob("html/index.html")


@engine[0]
@engine[1]
async def test_e2e_fails_with_the_report_on_a_planted_ui_defect(neosale: Neosale) -> None:
    # A renamed test id on the lead form's submit button: the page still
    # renders, the lead journeys cannot submit.
    form = await neosale.source.file(LEAD_FORM).contents()
    assert 'data-testid="lead-submit"' in form
    planted = neosale.source.with_new_file(
        LEAD_FORM, form.replace('data-testid="lead-submit"', 'data-testid="lead-send"')
    )
    run = await with_source(neosale, planted).end_to_end()
    assert not run.passed
    broken = {
        "a lead submitted through the form appears in /leads",
        "a duplicate email shows the already-registered message",
    }
    assert {f.split(": ", 1)[0].split(" > ", 1)[1] for f in run.failed} == broken
    # Playwright's JUnit reporter records a thrown error (a timeout) as <error>.
    junit = await junit_of(run)
    assert int(junit.get("failures", "0")) + int(junit.get("errors", "0")) == 2
    assert {case.get("name") for case in junit.iter("testcase") if failed(case)} == broken
    assert "lead-submit" in await run.junit().contents()
    reports = run.reports()
    assert await reports.glob("html/index.html")
    assert await reports.glob("test-results/**/trace.zip")
    # what scripts/verdict.sh gates on in CI: the export of this one run
    exported = json.loads(await reports.file("report.json").contents())
    assert (exported["passed"], exported["failed_stage"]) == (False, "e2e (http://neosale:8080)")
    assert (
        "a lead submitted through the form appears in /leads" in await reports.file("summary.md").contents()
    )
    with pytest.raises(StageError) as err:
        run.verdict()
    msg = str(err.value)
    assert msg.startswith("e2e: 2 of 4 journeys failed against http://neosale:8080")
    assert "a lead submitted through the form appears in /leads" in msg
