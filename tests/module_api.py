"""The module's API as `dagger call` sees it, read back from the real engine.

`dagger call` cannot load a Python module offline (the engine's builtin
Python SDK content is not buildable here), so this goes through the SDK's
own registration path: the type definitions the module runtime would hand
the engine are built with `dag.module()` and resolved, which makes the
engine validate every object, function, argument, default and doc. The
core types a call can chain into (Directory, File, Container, ...) are read
from the engine's GraphQL schema.

Names are the engine's (camelCase); `kebab()` gives the CLI's spelling.
Needs a connected client (the `dag_client` fixture).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import dagger
import graphql
from dagger import dag
from dagger.client._session import SharedConnection
from dagger.mod import default_module

import neosale_ci  # noqa: F401  registers the object types

MAIN = "Neosale"
CONSTRUCTOR = ""  # key of the main object's constructor among its functions


def kebab(name: str) -> str:
    """`trivyDb` -> `trivy-db`, `unitTest` -> `unit-test`: the CLI's flag and function names."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"-\1", name).lower()


@dataclass(frozen=True)
class Arg:
    name: str
    boolean: bool  # a bare `--flag` sets it; every other argument takes a value
    required: bool  # no default, not optional, no default path


@dataclass(frozen=True)
class Function:
    name: str
    args: Mapping[str, Arg]
    returns: str  # the returned object's name, or "" for a scalar, a list or nothing

    def arg(self, flag: str) -> Arg | None:
        """The argument a CLI flag (`trivy-db`) names."""
        return next((a for a in self.args.values() if kebab(a.name) == flag), None)


@dataclass(frozen=True)
class Api:
    """Objects by name; each maps function names to functions ("" = constructor)."""

    objects: Mapping[str, Mapping[str, Function]]
    module_objects: frozenset[str]  # the module's own objects (the rest are core types)

    def function(self, obj: str, cli_name: str) -> Function | None:
        """The function a CLI name (`unit-test`) names on an object."""
        fns = self.objects.get(obj, {})
        return next((f for n, f in fns.items() if n and kebab(n) == cli_name), None)

    def names(self) -> dict[str, dict[str, list[str]]]:
        """The module's objects as {object: {function: [argument names]}}."""
        return {
            obj: {name: list(fn.args) for name, fn in self.objects[obj].items()}
            for obj in self.module_objects
        }


async def _default(arg: dagger.FunctionArg) -> str | None:
    try:
        return str(await arg.default_value())
    except dagger.InvalidQueryError:  # the engine answers null: no default
        return None


async def _arg(arg: dagger.FunctionArg) -> Arg:
    td = arg.type_def()
    optional = await td.optional()
    has_default = await _default(arg) is not None or bool(await arg.default_path())
    return Arg(
        name=await arg.name(),
        boolean=await td.kind() == dagger.TypeDefKind.BOOLEAN_KIND,
        required=not optional and not has_default,
    )


async def _returns(td: dagger.TypeDef) -> str:
    return await td.as_object().name() if await td.kind() == dagger.TypeDefKind.OBJECT_KIND else ""


async def _module_objects() -> dict[str, dict[str, Function]]:
    mod = default_module()
    mod._main_name = MAIN
    mod._main = mod.get_object(MAIN)
    module_id = await mod._typedefs()
    loaded = dag.load_module_from_id(dagger.ModuleID(module_id))
    out: dict[str, dict[str, Function]] = {}
    for td in await loaded.objects():
        obj = td.as_object()
        name = await obj.name()
        fns: dict[str, Function] = {}
        if name == MAIN:  # only the main object has a constructor
            args = [await _arg(a) for a in await obj.constructor().args()]
            fns[CONSTRUCTOR] = Function(CONSTRUCTOR, {a.name: a for a in args}, MAIN)
        for fn in await obj.functions():
            args = [await _arg(a) for a in await fn.args()]
            fns[await fn.name()] = Function(
                await fn.name(), {a.name: a for a in args}, await _returns(fn.return_type())
            )
        for f in await obj.fields():  # `dagger call` reads a field as a function without arguments
            fns[await f.name()] = Function(await f.name(), {}, await _returns(f.type_def()))
        out[name] = fns
    return out


def _named(t: graphql.GraphQLOutputType | graphql.GraphQLInputType) -> graphql.GraphQLNamedType:
    while isinstance(t, graphql.GraphQLNonNull | graphql.GraphQLList):
        t = t.of_type
    assert isinstance(t, graphql.GraphQLNamedType)
    return t


def _core_objects(schema: graphql.GraphQLSchema) -> dict[str, dict[str, Function]]:
    out: dict[str, dict[str, Function]] = {}
    for name, t in schema.type_map.items():
        if name.startswith("__") or name == "Query" or not isinstance(t, graphql.GraphQLObjectType):
            continue
        fns: dict[str, Function] = {}
        for fname, field in t.fields.items():
            args = {
                aname: Arg(
                    name=aname,
                    boolean=_named(a.type).name == "Boolean",
                    required=isinstance(a.type, graphql.GraphQLNonNull)
                    and a.default_value is graphql.Undefined,
                )
                for aname, a in field.args.items()
            }
            ret = _named(field.type)
            fns[fname] = Function(fname, args, ret.name if isinstance(ret, graphql.GraphQLObjectType) else "")
        out[name] = fns
    return out


async def module_api() -> Api:
    """The module's objects, registered against the engine, plus the engine's core types."""
    module = await _module_objects()
    schema = await SharedConnection().session.get_schema()
    core = _core_objects(schema)
    return Api(objects={**core, **module}, module_objects=frozenset(module))
