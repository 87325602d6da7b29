"""The GitHub Actions workflows as data, and every `dagger call` in them.

A call comes from a dagger/dagger-for-github step (`verb`/`args`, `call:`,
`check:`) or from a `dagger ... call ...` command in a `run:` script. Job
matrices are expanded; any other `${{ ... }}` expression stands for one
opaque value. `resolve()` walks a call through an `Api` (tests/module_api.py):
constructor flags, then each function on the object the previous one
returned, with only the flags that function accepts.
"""

from __future__ import annotations

import itertools
import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.module_api import CONSTRUCTOR, MAIN, Api, Function, kebab

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOW_DIR = REPO_ROOT / ".github" / "workflows"
DAGGER_ACTION = "dagger/dagger-for-github"
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")

Workflow = dict[Any, Any]  # YAML 1.1 reads a bare `on:` key as True


def load(path: Path) -> Workflow:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path}: not a mapping"
    return data


def workflows() -> dict[str, Workflow]:
    """Every workflow file by name (`ci.yml`)."""
    paths = sorted([*WORKFLOW_DIR.glob("*.yml"), *WORKFLOW_DIR.glob("*.yaml")])
    return {p.name: load(p) for p in paths}


def triggers(wf: Workflow) -> dict[str, Any]:
    """The `on:` mapping (YAML 1.1 reads a bare `on` key as True)."""
    on = wf.get("on", wf.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    assert isinstance(on, dict), f"unexpected `on:` {on!r}"
    return on


def jobs(wf: Workflow) -> dict[str, dict[str, Any]]:
    result = wf.get("jobs") or {}
    assert isinstance(result, dict)
    return result


def steps(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    return list(job.get("steps") or [])


def all_steps() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(workflow, job, step) for every step of every workflow."""
    for name, wf in workflows().items():
        for job_id, job in jobs(wf).items():
            for step in steps(job):
                yield name, job_id, step


def is_dagger_action(step: Mapping[str, Any]) -> bool:
    return str(step.get("uses", "")).startswith(DAGGER_ACTION + "@")


def environment_name(job: Mapping[str, Any]) -> str | None:
    env = job.get("environment")
    if isinstance(env, dict):
        return str(env.get("name"))
    return None if env is None else str(env)


# --- dagger calls in the workflows ----------------------------------------


@dataclass(frozen=True)
class DaggerCall:
    workflow: str
    job: str
    step: str
    verb: str  # "call" or "check"
    argv: tuple[str, ...]  # after `dagger call` / `dagger check`

    @property
    def id(self) -> str:
        """`delivery.yml:build:call run reports export`: where, and the functions it names."""
        return f"{self.workflow}:{self.job}:{self.verb} {' '.join(function_words(self.argv)) or '(all)'}"

    @property
    def function(self) -> str:
        """The first module function the call names."""
        return next(iter(function_words(self.argv)), "")


# `dagger call` flags of the CLI itself, not of the module.
CLI_VALUE_FLAGS = frozenset({"-m", "--mod", "-o", "--output", "--progress", "-W", "--workdir"})
CLI_BOOL_FLAGS = frozenset(
    {"-j", "--json", "-q", "--quiet", "-s", "--silent", "-v", "--verbose", "--debug", "-i", "-E", "-y"}
)


def _matrix_values(job: Mapping[str, Any]) -> list[dict[str, str]]:
    matrix = (job.get("strategy") or {}).get("matrix") or {}
    assert isinstance(matrix, dict), "a matrix given as one expression cannot be checked"
    keys = [k for k, v in matrix.items() if isinstance(v, list)]
    combos = itertools.product(*(matrix[k] for k in keys))
    return [dict(zip(keys, map(str, combo), strict=True)) for combo in combos] or [{}]


def substitute(text: str, matrix: Mapping[str, str]) -> str:
    """`${{ matrix.k }}` by its value; any other expression by one opaque word."""

    def one(m: re.Match[str]) -> str:
        expr = m.group(1)
        if expr.startswith("matrix.") and expr[len("matrix.") :] in matrix:
            return matrix[expr[len("matrix.") :]]
        return "EXPR"

    return EXPRESSION.sub(one, text)


def _words(text: str) -> list[str]:
    return shlex.split(text.replace("\\\n", " "))


def commands_in_script(script: str) -> Iterator[list[str]]:
    """Each simple command of a shell script as words (split at newlines, ; & | ( ) < >)."""
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        command: list[str] = []
        try:
            for tok in lexer:
                if tok and set(tok) <= set("();<>|&"):
                    if command:
                        yield command
                    command = []
                else:
                    command.append(tok)
        except ValueError:  # a quote spanning lines: only a problem on a dagger line
            if "dagger" in line:
                raise
            continue
        if command:
            yield command


def _from_script(script: str) -> Iterator[tuple[str, list[str]]]:
    for words in commands_in_script(script):
        if not words or words[0] != "dagger":
            continue
        rest = words[1:]
        # global flags before the verb
        while rest and rest[0].startswith("-"):
            flag = rest.pop(0)
            if flag in CLI_VALUE_FLAGS and "=" not in flag and rest:
                rest.pop(0)
        if rest and rest[0] in ("call", "check"):
            yield rest[0], rest[1:]


def dagger_calls(name: str, wf: Workflow) -> list[DaggerCall]:
    calls: list[DaggerCall] = []
    for job_id, job in jobs(wf).items():
        for index, step in enumerate(steps(job)):
            label = str(step.get("name") or step.get("id") or f"step {index + 1}")
            for matrix in _matrix_values(job):
                found: list[tuple[str, list[str]]] = []
                if is_dagger_action(step):
                    with_ = step.get("with") or {}
                    verb = str(with_.get("verb", "call"))
                    if with_.get("call"):
                        found.append(("call", _words(substitute(str(with_["call"]), matrix))))
                    elif with_.get("check") or verb == "check":
                        found.append(("check", _words(substitute(str(with_.get("args", "")), matrix))))
                    elif verb == "call" and with_.get("args"):
                        found.append(("call", _words(substitute(str(with_["args"]), matrix))))
                if "run" in step:
                    found.extend(_from_script(substitute(str(step["run"]), matrix)))
                for verb, argv in found:
                    call = DaggerCall(name, job_id, label, verb, tuple(argv))
                    if call not in calls:
                        calls.append(call)
    return calls


def all_dagger_calls() -> list[DaggerCall]:
    return [c for name, wf in workflows().items() for c in dagger_calls(name, wf)]


# --- resolving a call against the module's API ------------------------------


class CallError(AssertionError):
    """The call does not fit the module's API."""


class MissingFunctionError(CallError):
    """The call names a function the module's main object does not have."""


def function_words(argv: tuple[str, ...] | list[str]) -> list[str]:
    """The function names of a call, for labels: every word that is not a flag or a flag's value."""
    words: list[str] = []
    value_next = False
    for tok in argv:
        if value_next:
            value_next = False
        elif tok.startswith("-"):
            value_next = "=" not in tok and tok not in CLI_BOOL_FLAGS
        else:
            words.append(tok)
    return words


def _flags(fn: Function) -> str:
    return ", ".join(f"--{kebab(a)}" for a in fn.args) or "no arguments"


def _check_required(fn: Function, given: set[str], where: str) -> None:
    missing = [f"--{kebab(a.name)}" for a in fn.args.values() if a.required and a.name not in given]
    if missing:
        raise CallError(f"{where}: required argument(s) {', '.join(missing)} not given")


def resolve(api: Api, argv: tuple[str, ...] | list[str]) -> list[str]:
    """Walk `dagger call ARGV`; returns the chain as ["Neosale.pipeline", "PipelineRun.reports", ...].

    Raises MissingFunctionError for a function the main object lacks, and
    CallError for anything else that `dagger call` would reject.
    """
    obj = MAIN
    fn = api.objects[MAIN][CONSTRUCTOR]
    where = f"{MAIN} (constructor)"
    given: set[str] = set()
    chain: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        i += 1
        if tok.startswith("-"):
            flag, eq, _ = tok.partition("=")
            if flag in CLI_VALUE_FLAGS:
                i += 0 if eq else 1
                continue
            if flag in CLI_BOOL_FLAGS:
                continue
            arg = fn.arg(flag.lstrip("-"))
            if arg is None:
                raise CallError(f"{where} has no argument {flag}; it takes {_flags(fn)}")
            if not eq and not arg.boolean:
                if i >= len(argv) or argv[i].startswith("--"):
                    raise CallError(f"{where}: {flag} needs a value")
                i += 1
            given.add(arg.name)
            continue
        _check_required(fn, given, where)
        if not fn.returns:
            raise CallError(f"{where} returns no object: nothing to call {tok!r} on")
        obj = fn.returns
        nxt = api.function(obj, tok)
        if nxt is None:
            names = ", ".join(sorted(kebab(n) for n in api.objects.get(obj, {}) if n))
            error = MissingFunctionError if obj == MAIN else CallError
            raise error(f"{obj} has no function {tok!r}; it has: {names}")
        fn, where, given = nxt, f"{obj}.{nxt.name}", set()
        chain.append(where)
    _check_required(fn, given, where)
    if not chain:
        raise CallError("no function is called")
    return chain


def resolve_check(api: Api, argv: tuple[str, ...] | list[str]) -> list[str]:
    """`dagger check [NAME...]`: each name a function of the module that needs no argument."""
    main = api.objects[MAIN]
    names = [t for t in argv if not t.startswith("-")]
    if not names:
        return [f"{MAIN}.{n}" for n, f in main.items() if n and not any(a.required for a in f.args.values())]
    out = []
    for name in names:
        fn = api.function(MAIN, name)
        if fn is None:
            raise MissingFunctionError(f"{MAIN} has no check {name!r}")
        _check_required(fn, set(), f"{MAIN}.{fn.name}")
        out.append(f"{MAIN}.{fn.name}")
    return out
