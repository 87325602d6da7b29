"""The module's API as `dagger call` sees it, registered against the real engine
(tests/module_api.py); then the functions and flags the README and workflows
use are asserted. tests/workflows checks every `dagger call` of the workflows
against the same API.
"""

from __future__ import annotations

import pytest

from tests.module_api import module_api

pytestmark = [pytest.mark.engine, pytest.mark.anyio]


async def test_functions_and_flags_exist(dag_client: object) -> None:
    objects = (await module_api()).names()
    main = objects["Neosale"]
    assert set(main[""]) >= {
        "source",
        "nodeImage",
        "trivyImage",
        "hadolintImage",
        "postgresImage",
        "redisImage",
        "nginxImage",
        "pythonImage",
        "playwrightImage",
        "registryImage",
        "caBundle",
        "trivyDb",
    }
    for check in ("lint", "typecheck", "unitTest", "integrationTest", "dockerfileLint", "secretScan"):
        assert main[check] == []  # checks need no argument, so `dagger check` can run them
    assert set(main["build"]) >= {"app", "sha", "created", "version"}
    assert set(main["scan"]) >= {"image", "db", "ignoreFile"}
    assert set(main["publish"]) >= {"image", "repository", "sha", "ref", "username", "password"}
    assert set(main["run"]) >= {"sha", "created", "ref", "registry", "password", "severity"}
    assert set(main["run"]) >= {"endToEnd", "staging", "stagingUrl", "stagingTarget", "appEnv"}
    assert set(objects["TrivyScan"]) >= {"report", "gate"}
    assert set(objects["PipelineRun"]) >= {"reports", "verdict", "images"}
    # the published images as typed values: `dagger call run … images`
    assert set(objects["PublishedImage"]) >= {"app", "repository", "digest", "tags", "ref"}
    # delivery: the docker host and its credentials are configuration, shared by every function
    assert set(main[""]) >= {
        "dockerSocket",
        "dockerHost",
        "sshKey",
        "sshKnownHosts",
        "tlsCa",
        "tlsCert",
        "tlsKey",
    }
    assert set(main["deployStaging"]) >= {"backend", "frontend", "sha", "approvedBy", "target", "appEnv"}
    assert set(main["promote"]) >= {"backend", "frontend", "sha", "approve", "approvedBy", "target", "appEnv"}
    assert set(main["rollback"]) >= {"environment", "approvedBy", "target"}
    assert set(main["status"]) >= {"environment", "asJson", "target"}
    assert set(main["smoke"]) >= {"baseUrl", "sha", "config"}
    assert set(main["endToEnd"]) >= {"baseUrl", "sha"}
    assert set(main["stack"]) >= {"sha", "origin"}
    assert set(objects["SmokeRun"]) >= {"verdict"}
    assert set(objects["EndToEndRun"]) >= {"reports", "junit", "summary", "verdict"}


async def test_required_arguments_and_return_types(dag_client: object) -> None:
    api = await module_api()
    run = api.objects["Neosale"]["run"]
    assert {a.name for a in run.args.values() if a.required} == {"sha", "created"}
    assert run.returns == "PipelineRun"
    assert not api.objects["Neosale"][""].args["source"].required  # DefaultPath("/")
    assert api.objects["PipelineRun"]["reports"].returns == "Directory"
    for fn in ("deployStaging", "promote"):
        required = {a.name for a in api.objects["Neosale"][fn].args.values() if a.required}
        assert required == {"backend", "frontend", "sha"}, fn  # the approval is checked, not required
    assert api.objects["Neosale"]["stack"].returns == "Service"
    assert api.objects["TrivyScan"]["gate"].args["ignoreUnfixed"].boolean
    # core types come from the engine's schema
    export = api.objects["Directory"]["export"]
    assert export.args["path"].required
    assert not export.args["wipe"].required
    assert export.args["wipe"].boolean
    assert api.function("Container", "publish") is not None
    assert api.function("File", "contents") is not None
