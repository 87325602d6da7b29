"""App environment given as `ROLE:NAME=VALUE` (--env-file lines, --env options).

An env file holds one assignment per line; blank lines and lines starting with
`#` are skipped. A value is taken as written up to the end of its line, unless
it starts with `"`: then it runs to the closing `"`, across lines if need be,
with the escapes `\\n`, `\\r`, `\\t`, `\\"` and `\\\\` (dotenv's double quotes), so
a PEM key or any multi-line secret fits.

Values are secrets: an error names the file and line (or the --env position)
and the key only when it is a valid `ROLE:NAME`; never a value or a line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from neosale_deploy.errors import UsageError
from neosale_deploy.model import ROLES

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
EXPECTED = f"expected ROLE:NAME=VALUE with ROLE one of {', '.join(ROLES)} and NAME a variable name"


@dataclass(frozen=True)
class Assignment:
    role: str
    name: str
    value: str


def _key(text: str, where: str) -> tuple[str, str]:
    """ROLE and NAME of `text` (what precedes '='); the error quotes it only when valid."""
    role, colon, name = text.strip().partition(":")
    if not colon or role not in ROLES:
        raise UsageError(f"{where} does not start with a known ROLE: ({EXPECTED})")
    if not _NAME.match(name):
        raise UsageError(f"{where}: the NAME after {role + ':'!r} is not a variable name ({EXPECTED})")
    return role, name


def parse_assignment(item: str, where: str) -> Assignment:
    """One `ROLE:NAME=VALUE` taken as written (an --env option)."""
    key, eq, value = item.partition("=")
    if not eq:
        raise UsageError(f"{where} has no '=' ({EXPECTED})")
    role, name = _key(key, where)
    return Assignment(role, name, value)


def _quoted(first: str, rest: Iterator[tuple[int, str]], where: str) -> str:
    """The value after an opening '"' (`first` is the remainder of its line)."""
    out: list[str] = []
    text = first
    while True:
        i = 0
        while i < len(text):
            ch = text[i]
            if ch == '"':
                if text[i + 1 :].strip() and not text[i + 1 :].lstrip().startswith("#"):
                    raise UsageError(f"{where}: text follows the closing '\"' ({EXPECTED})")
                return "".join(out)
            if ch == "\\" and i + 1 < len(text):
                out.append(_ESCAPES.get(text[i + 1], "\\" + text[i + 1]))
                i += 2
                continue
            out.append(ch)
            i += 1
        nxt = next(rest, None)
        if nxt is None:
            raise UsageError(f"{where}: the '\"' that opens its value is never closed ({EXPECTED})")
        out.append("\n")
        text = nxt[1]


def parse_env_file(text: str, path: str) -> list[Assignment]:
    """Every assignment of an env file's `text`, in order; `path` names it in errors."""
    out: list[Assignment] = []
    # Only line feeds end lines: other separators splitlines() knows may be inside a value.
    lines = iter(enumerate(text.replace("\r\n", "\n").split("\n"), start=1))
    for number, line in lines:
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"--env-file {path!r} line {number}"
        key, eq, raw = line.partition("=")
        if not eq:
            raise UsageError(f"{where} has no '=' ({EXPECTED}; a value spanning lines is in double quotes)")
        role, name = _key(key, where)
        value = raw.strip()
        if value.startswith('"'):  # from `raw`: spaces before the closing quote are part of the value
            value = _quoted(raw.lstrip()[1:], lines, f"{where} ({role}:{name})")
        out.append(Assignment(role, name, value))
    return out
