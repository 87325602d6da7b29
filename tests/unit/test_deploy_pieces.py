"""The deployer's plain pieces, without Docker: ledger records and their merge, lock
staleness, the Engine's stream framing and container list rows, the database URL,
app container env and labels, the revision check, target files."""

from __future__ import annotations

import os
import struct
from typing import cast

import pytest

from neosale_deploy.appspec import app_env, hardening
from neosale_deploy.colours import Colours, health_from_status, info_from_row
from neosale_deploy.database import database, known_backups
from neosale_deploy.dockerhost import demux
from neosale_deploy.errors import UsageError
from neosale_deploy.model import (
    LABEL_COLOUR,
    LABEL_DEPLOY_ID,
    LABEL_ROLE,
    REVISION_LABEL,
    App,
    Target,
    parse_target,
)
from neosale_deploy.record import LedgerRecord, Phase, Result, merge
from neosale_deploy.reference import ImageRef
from neosale_deploy.rollout import revision_problem
from neosale_deploy.state import holder_info, holder_is_stale

SHA = "a" * 40


def test_phases_and_results_are_the_strings_the_ledger_and_log_lines_use() -> None:
    assert [str(p) for p in Phase][:9] == [
        "lock", "reconcile", "images", "backup", "migrate", "start-idle", "health", "smoke", "switch"
    ]  # fmt: skip
    assert f"phase {Phase.SWITCH_BACK}: start" == "phase switch-back: start"
    assert str(Result.ROLLED_BACK) == "rolled-back"
    by_app: dict[str, int] = {App.BACKEND: 1}
    assert by_app["backend"] == 1


def test_ledger_merge_keeps_the_latest_snapshot_in_the_order_records_started() -> None:
    lines = [
        cast(LedgerRecord, {"id": "a", "result": "running"}),
        cast(LedgerRecord, {"id": "b", "result": "running"}),
        cast(LedgerRecord, {"id": "a", "result": "success"}),
    ]
    assert merge(lines) == [{"id": "a", "result": "success"}, {"id": "b", "result": "running"}]
    assert merge([]) == []


def test_a_lock_holder_is_stale_once_its_process_is_gone_or_too_old() -> None:
    mine = holder_info("d1", "deploy")
    assert holder_is_stale(mine, ttl=1.0) is None  # this process runs
    gone = {**mine, "pid": os.getpid(), "start": "0"}  # the pid reused by another process
    assert holder_is_stale(gone, ttl=7200) == f"its process {os.getpid()} is gone"
    elsewhere = {**mine, "host": "other-host", "time": "2020-01-01T00:00:00Z"}
    assert (holder_is_stale(elsewhere, ttl=60) or "").startswith("it is ")
    assert holder_is_stale({**elsewhere, "time": mine["time"]}, ttl=3600) is None
    assert holder_is_stale({**mine, "time": "yesterday"}, ttl=60) == "the lock has no readable time"


def test_demux_joins_the_payloads_of_stdout_and_stderr_frames() -> None:
    def frame(stream: int, data: bytes) -> bytes:
        return struct.pack(">BxxxI", stream, len(data)) + data

    assert demux(frame(1, b"out ") + frame(2, b"err") + frame(1, b"\n")) == b"out err\n"
    assert demux(frame(1, b"whole") + b"\x01\x00\x00") == b"whole"  # a cut header is dropped
    assert demux(b"") == b""


def test_a_container_row_becomes_an_info_with_its_health() -> None:
    row = {"Id": "x", "Names": ["/p-blue-backend"], "Labels": {LABEL_COLOUR: "blue"}, "State": "running"}
    info = info_from_row({**row, "Status": "Up 2 minutes (healthy)"})
    assert (info.name, info.state, info.health, info.label(LABEL_COLOUR)) == (
        "p-blue-backend",
        "running",
        "healthy",
        "blue",
    )
    assert info_from_row({"Id": "y"}).name == "?"
    assert health_from_status("Up 1 second (health: starting)") == "starting"
    assert health_from_status("Up 1 second") is None


def test_a_colour_whose_containers_disagree_has_no_deploy_id() -> None:
    rows = [
        {"Id": r, "Labels": {LABEL_COLOUR: "blue", LABEL_ROLE: r, LABEL_DEPLOY_ID: d}, "State": "running"}
        for r, d in (("backend", "d1"), ("frontend", "d2"))
    ]
    colours = Colours(tuple(info_from_row(r) for r in rows))
    assert colours.deploy_id("blue") == ""
    assert colours.running("blue")
    assert not colours.running("green")


def test_the_database_url_becomes_libpq_variables_and_a_password_free_name() -> None:
    db = database(Target(database_url="postgres://neo%40sale:p%2Fss@db:6543/neosale?schema=public"))
    assert db.env == {
        "PGHOST": "db", "PGPORT": "6543", "PGUSER": "neo@sale", "PGPASSWORD": "p/ss", "PGDATABASE": "neosale"
    }  # fmt: skip
    assert db.where == "db:6543/neosale"
    with pytest.raises(UsageError, match="--production needs the database"):
        database(Target())
    with pytest.raises(UsageError) as exc:
        database(Target(database_url="mysql://u:hunter2@db/x"))
    assert "hunter2" not in str(exc.value)
    assert "expected postgres://USER:PASS@HOST:PORT/DB" in str(exc.value)


def test_known_backups_are_the_ledger_records_that_made_one() -> None:
    entries = [
        cast(LedgerRecord, {"id": "d1", "backup": {"id": "p-d1", "bytes": 10}}),
        cast(LedgerRecord, {"id": "d2"}),
        cast(LedgerRecord, {"id": "d3", "backup": "not a record"}),
    ]
    assert list(known_backups(entries)) == ["p-d1"]


def test_each_colours_frontend_talks_to_its_own_backend_confined() -> None:
    t = Target(project="p")
    env = app_env(t, App.FRONTEND, "green")
    assert env["BACKEND_URL"] == "http://p-green-backend:4000"
    assert (env["NEOSALE_COLOUR"], env["NEOSALE_ROLE"], env["PORT"]) == ("green", "frontend", "3000")
    assert "BACKEND_URL" not in app_env(t, App.BACKEND, "green")
    confined = hardening(t.roles[App.FRONTEND])
    assert confined["read_only"] is True
    assert confined["cap_drop"] == ["ALL"]
    assert set(confined["tmpfs"]) == {"/tmp", "/app/.next/cache"}


def test_an_image_from_another_commit_is_named_with_what_it_was_built_from() -> None:
    image = ImageRef.parse("reg/app@sha256:" + "1" * 64, "--backend")
    labels = {REVISION_LABEL: SHA}
    assert revision_problem("backend", image, labels, SHA) is None
    problem = revision_problem("backend", image, {}, SHA) or ""
    assert "was built from commit '(no label)'" in problem
    assert f"not the approved {SHA!r}" in problem


def test_a_target_file_is_parsed_and_bad_values_are_named() -> None:
    text = 'project = "neosale-prod"\nrouter_port = 80\n[roles.backend]\nenv = { LOG = "info", N = 3 }\n'
    t = parse_target(text, "t.toml", preview_port=9000)
    assert (t.project, t.router_port, t.preview_port) == ("neosale-prod", 80, 9000)
    assert t.roles[App.BACKEND].env == {"LOG": "info", "N": "3"}
    for bad, message in (
        ("projet = 'x'", "t.toml: unknown key 'projet'"),
        ("[roles.db]\nport = 1", "t.toml: unknown role 'db' under [roles]"),
        ("router_port = 8081", "router_port and preview_port are both 8081"),
        ("project = 'Bad Name'", "project 'Bad Name' is not a valid name"),
        ("migrate_command = 'node x'", "t.toml: migrate_command must be a list of strings"),
        ("project = ", "config file 't.toml' is not valid TOML"),
    ):
        with pytest.raises(UsageError) as exc:
            parse_target(bad, "t.toml")
        assert message in str(exc.value)
