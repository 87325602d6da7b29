"""Every `dagger call` in the workflows names functions the module has, with
only the arguments they accept, and every required one; chained calls resolve
through the object the previous function returns (PipelineRun -> reports ->
Directory.export). The API is the real one, registered against the engine.
"""

from __future__ import annotations

import pytest

from tests.module_api import Api, Arg, Function, module_api
from tests.workflows.gha import (
    CallError,
    DaggerCall,
    MissingFunctionError,
    all_dagger_calls,
    commands_in_script,
    dagger_calls,
    resolve,
    resolve_check,
    substitute,
)

CALLS = all_dagger_calls()


def _param(call: DaggerCall) -> object:
    return pytest.param(call, id=call.id)


@pytest.fixture(scope="module")
async def api(dag_client: object, anyio_backend: str) -> Api:
    return await module_api()


# --- against the real module -------------------------------------------------


@pytest.mark.engine
@pytest.mark.anyio
@pytest.mark.parametrize("call", [_param(c) for c in CALLS])
async def test_call_fits_the_module(api: Api, call: DaggerCall) -> None:
    if call.verb == "check":
        assert resolve_check(api, call.argv)
    else:
        assert resolve(api, call.argv)


def test_the_workflows_call_what_they_should() -> None:
    functions = {(c.workflow, c.function) for c in CALLS}
    # One engine per ci run: `run` holds every check (tests/cli/test_run.py runs it verbatim).
    assert {c.function for c in CALLS if c.workflow == "ci.yml"} == {"run"}
    assert ("delivery.yml", "run") in functions
    assert {("delivery.yml", "deploy-staging"), ("delivery.yml", "promote")} <= functions
    assert ("rollback.yml", "rollback") in functions
    for workflow in ("ci.yml", "delivery.yml"):
        runs = [c.argv for c in CALLS if c.workflow == workflow and c.function == "run"]
        # exported once; the verdict comes from that export (scripts/verdict.sh), not a second run
        assert [a[-4:] for a in runs] == [("reports", "export", "--path", "reports")], workflow


# --- the checker itself, on a small API --------------------------------------


def _fn(name: str, returns: str = "", **args: tuple[bool, bool]) -> Function:
    return Function(name, {n: Arg(n, boolean=b, required=r) for n, (b, r) in args.items()}, returns)


FAKE = Api(
    objects={
        "Neosale": {
            "": _fn("", "Neosale", source=(False, False), caBundle=(False, False)),
            "pipeline": _fn("pipeline", "PipelineRun", sha=(False, True), trivyDb=(False, False)),
            "unitTest": _fn("unitTest"),
            "scan": _fn("scan", "TrivyScan", image=(False, True)),
        },
        "PipelineRun": {"reports": _fn("reports", "Directory"), "verdict": _fn("verdict")},
        "TrivyScan": {"gate": _fn("gate", ignoreUnfixed=(True, False), severity=(False, False))},
        "Directory": {"export": _fn("export", path=(False, True), wipe=(True, False))},
    },
    module_objects=frozenset({"Neosale", "PipelineRun", "TrivyScan"}),
)


def _resolve(argv: str) -> list[str]:
    return resolve(FAKE, argv.split())


def test_resolve_walks_the_chain() -> None:
    argv = "--ca-bundle x pipeline --sha=abc --trivy-db d reports export --path out --wipe"
    assert _resolve(argv) == ["Neosale.pipeline", "PipelineRun.reports", "Directory.export"]
    assert _resolve("unit-test") == ["Neosale.unitTest"]
    assert _resolve("scan --image i gate --ignore-unfixed --severity HIGH")[-1] == "TrivyScan.gate"
    assert _resolve("-m . pipeline --sha s --json verdict")[-1] == "PipelineRun.verdict"


@pytest.mark.parametrize(
    ("argv", "error", "says"),
    [
        ("deploy-staging --sha s", MissingFunctionError, "Neosale has no function 'deploy-staging'"),
        ("unit_test", MissingFunctionError, "no function 'unit_test'"),  # the CLI spells it unit-test
        ("pipeline --sha s --trivy_db d", CallError, "no argument --trivy_db"),
        ("pipeline --sha s --registry r", CallError, "no argument --registry"),
        ("pipeline --sha s reports publish", CallError, "Directory has no function 'publish'"),
        ("pipeline --sha s verdict export", CallError, "returns no object"),
        ("pipeline", CallError, "required argument(s) --sha"),
        ("pipeline --sha s reports export", CallError, "required argument(s) --path"),
        ("pipeline --sha", CallError, "--sha needs a value"),
        ("--source", CallError, "--source needs a value"),
        ("--nope x lint", CallError, "Neosale (constructor) has no argument --nope"),
        ("", CallError, "no function is called"),
    ],
)
def test_resolve_rejects(argv: str, error: type[CallError], says: str) -> None:
    with pytest.raises(error) as info:
        _resolve(argv)
    assert says in str(info.value)
    if error is CallError:
        assert not isinstance(info.value, MissingFunctionError)


def test_resolve_check() -> None:
    assert resolve_check(FAKE, []) == ["Neosale.unitTest"]
    assert resolve_check(FAKE, ["unit-test"]) == ["Neosale.unitTest"]
    with pytest.raises(MissingFunctionError):
        resolve_check(FAKE, ["lint"])
    with pytest.raises(CallError, match="--sha"):
        resolve_check(FAKE, ["pipeline"])


def test_calls_are_found_in_actions_and_scripts() -> None:
    wf = {
        "on": "push",
        "jobs": {
            "j": {
                "strategy": {"matrix": {"check": ["lint", "unit-test"], "os": ["a"]}},
                "steps": [
                    {
                        "name": "m",
                        "uses": "dagger/dagger-for-github@" + "0" * 40,
                        "with": {"verb": "call", "args": "${{ matrix.check }}"},
                    },
                    {"uses": "dagger/dagger-for-github@" + "0" * 40, "with": {"call": "pipeline --sha x"}},
                    {"uses": "dagger/dagger-for-github@" + "0" * 40, "with": {"verb": "check"}},
                    {"uses": "dagger/dagger-for-github@" + "0" * 40, "with": {"version": "1"}},
                    {
                        "name": "r",
                        "run": "set -e\n"
                        'dagger --progress plain call pipeline \\\n  --sha "$SHA" verdict && echo ok\n'
                        "echo dagger call not-a-call  # dagger call lint\n"
                        "x=1; dagger check lint | tee out",
                    },
                ],
            }
        },
    }
    found = [(c.step, c.verb, c.argv) for c in dagger_calls("w.yml", wf)]
    assert found == [
        ("m", "call", ("lint",)),
        ("m", "call", ("unit-test",)),
        ("step 2", "call", ("pipeline", "--sha", "x")),
        ("step 3", "check", ()),
        ("r", "call", ("pipeline", "--sha", "$SHA", "verdict")),
        ("r", "check", ("lint",)),
    ]


def test_expressions_become_one_word() -> None:
    text = "pipeline --sha ${{ github.sha }} --registry ghcr.io/${{ env.OWNER }} ${{ matrix.c }}"
    assert substitute(text, {"c": "lint"}) == "pipeline --sha EXPR --registry ghcr.io/EXPR lint"
    assert list(commands_in_script("a b; c 'd e' | f\n# g\nh")) == [["a", "b"], ["c", "d e"], ["f"], ["h"]]
