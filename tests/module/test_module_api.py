"""The module's API as `dagger call` sees it, registered against the real engine.

`dagger call` cannot load a Python module offline (the engine's builtin
Python SDK content is not buildable here), so this goes through the SDK's
own registration path: the type definitions the module runtime would hand
the engine are built with `dag.module()` and resolved, which makes the
engine validate every object, function, argument, default and doc. Then
the functions and flags the README and workflows use are asserted.
"""

from __future__ import annotations

import dagger
import pytest
from dagger import dag
from dagger.mod import default_module

import neosale_ci  # noqa: F401  registers the object types

pytestmark = [pytest.mark.engine, pytest.mark.anyio]


async def api() -> dict[str, dict[str, list[str]]]:
    mod = default_module()
    mod._main_name = "Neosale"
    mod._main = mod.get_object("Neosale")
    module_id = await mod._typedefs()
    loaded = dag.load_module_from_id(dagger.ModuleID(module_id))
    out: dict[str, dict[str, list[str]]] = {}
    for td in await loaded.objects():
        obj = td.as_object()
        name = await obj.name()
        fns: dict[str, list[str]] = {}
        if name == "Neosale":  # only the main object has a constructor
            fns[""] = [await a.name() for a in await obj.constructor().args()]
        for fn in await obj.functions():
            fns[await fn.name()] = [await a.name() for a in await fn.args()]
        out[name] = fns
    return out


async def test_functions_and_flags_exist(dag_client: object) -> None:
    objects = await api()
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
    }
    for check in ("lint", "typecheck", "unitTest", "integrationTest", "dockerfileLint", "secretScan"):
        assert main[check] == []  # checks need no argument, so `dagger check` can run them
    assert set(main["buildBackend"]) >= {"sha", "created", "version"}
    assert set(main["scan"]) >= {"image", "db", "ignoreFile"}
    assert set(main["publish"]) >= {"image", "repository", "sha", "ref", "username", "password"}
    assert set(main["pipeline"]) >= {"sha", "created", "ref", "registry", "password", "trivyDb", "severity"}
    assert set(objects["TrivyScan"]) >= {"report", "gate"}
    assert set(objects["PipelineRun"]) >= {"reports", "verdict"}
