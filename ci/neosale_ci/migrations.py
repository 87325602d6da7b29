"""Migration safety for blue-green: both colours share one database, so a
migration must not break the version still running (expand/contract).

squawk lints the SQL; this module decides which of its findings block: the
rules that break the old colour or lock a busy table. A blocking finding can
be acknowledged in the migration itself with squawk's own comment plus a
reason, e.g. `-- squawk-ignore ban-drop-column -- unread since v1.4`; an
acknowledgement without a reason blocks too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

# Rules whose change breaks the colour still running, or blocks its traffic.
BLOCKING = frozenset(
    {
        "ban-drop-column",
        "ban-drop-table",
        "ban-drop-database",
        "renaming-column",
        "renaming-table",
        "changing-column-type",
        "adding-required-field",
        "adding-not-nullable-field",
        "require-concurrent-index-creation",
        "require-concurrent-index-deletion",
        "constraint-missing-not-valid",
        "disallowed-unique-constraint",
        "ban-truncate-cascade",
    }
)

_IGNORE = re.compile(r"--\s*squawk-ignore(?:-file)?\s+(?P<rules>[a-z0-9, -]+?)(?:\s+--\s*(?P<reason>\S.*))?$")


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int  # 1-based
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.rule}: {self.message}"


def new_migrations(current: list[str], base: list[str] | None) -> list[str]:
    """Migration folders in `current` that the base ref does not have (all when no base)."""
    names = sorted(n for n in current if n[:1].isdigit())
    if base is None:
        return names
    known = set(base)
    return [n for n in names if n not in known]


def unexplained_acknowledgements(file: str, sql: str) -> list[Problem]:
    """squawk-ignore comments for blocking rules that give no reason."""
    out: list[Problem] = []
    for i, line in enumerate(sql.splitlines(), start=1):
        m = _IGNORE.search(line.strip())
        if not m:
            continue
        rules = {r.strip() for r in re.split(r"[ ,]+", m.group("rules")) if r.strip()}
        for rule in sorted(rules & BLOCKING):
            if not m.group("reason"):
                out.append(
                    Problem(
                        file,
                        i,
                        rule,
                        "acknowledged without a reason: add ` -- why this is safe` to the comment",
                    )
                )
    return out


def blocking(squawk_json: str) -> list[Problem]:
    """The findings of `squawk --reporter json` that block a deploy."""
    data = json.loads(squawk_json or "[]")
    return sorted(
        Problem(str(d["file"]), int(d["line"]) + 1, str(d["rule_name"]), str(d["message"]))
        for d in data
        if d.get("rule_name") in BLOCKING
    )
