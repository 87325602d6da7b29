from __future__ import annotations

import json

from neosale_ci.migrations import Problem, blocking, new_migrations, unexplained_acknowledgements


def test_new_migrations_relative_to_base() -> None:
    current = ["20260101_init", "20260201_add_index", "migration_lock.toml"]
    assert new_migrations(current, ["20260101_init"]) == ["20260201_add_index"]
    assert new_migrations(current, None) == ["20260101_init", "20260201_add_index"]


def test_only_blue_green_breaking_rules_block() -> None:
    findings = [
        {
            "file": "a/migration.sql",
            "line": 0,
            "rule_name": "ban-drop-column",
            "message": "Dropping a column",
        },
        {"file": "a/migration.sql", "line": 3, "rule_name": "prefer-robust-stmts", "message": "IF EXISTS"},
        {
            "file": "a/migration.sql",
            "line": 4,
            "rule_name": "require-concurrent-index-creation",
            "message": "lock",
        },
    ]
    got = blocking(json.dumps(findings))
    assert [str(p) for p in got] == [
        "a/migration.sql:1 ban-drop-column: Dropping a column",
        "a/migration.sql:5 require-concurrent-index-creation: lock",
    ]


def test_acknowledgement_needs_a_reason() -> None:
    sql = (
        "-- squawk-ignore ban-drop-column\n"
        'ALTER TABLE "Lead" DROP COLUMN "a";\n'
        "-- squawk-ignore renaming-column -- clients read the view since v2\n"
        "-- squawk-ignore prefer-robust-stmts\n"
    )
    assert unexplained_acknowledgements("m.sql", sql) == [
        Problem(
            "m.sql",
            1,
            "ban-drop-column",
            "acknowledged without a reason: add ` -- why this is safe` to the comment",
        )
    ]


def test_empty_squawk_output() -> None:
    assert blocking("") == []
