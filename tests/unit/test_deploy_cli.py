"""The deployer CLI's target options: app environment from a file, kept out of errors."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from neosale_deploy.cli import _target, build_parser, main
from neosale_deploy.errors import UsageError

REF = "127.0.0.1:5000/app@sha256:" + "a" * 64


def parse(*args: str) -> argparse.Namespace:
    return build_parser().parse_args(["deploy", "--backend", REF, "--frontend", REF, *args])


def test_env_file_lines_reach_the_roles_and_the_command_line_wins(tmp_path: Path) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text(
        "# secrets of staging\nbackend:DATABASE_URL=postgres://u:s3cret@db/neosale\n\n"
        "frontend:LOG_LEVEL=warn\nbackend:LOG_LEVEL=info\n"
    )
    target = _target(parse("--env-file", str(env_file), "--env", "backend:LOG_LEVEL=debug"))
    assert target.roles["backend"].env["DATABASE_URL"] == "postgres://u:s3cret@db/neosale"
    assert target.roles["backend"].env["LOG_LEVEL"] == "debug"
    assert target.roles["frontend"].env["LOG_LEVEL"] == "warn"


PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"


def test_a_double_quoted_value_spans_lines_and_takes_escapes(tmp_path: Path) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text(
        f'backend:TLS_KEY="{PEM}"\n'
        'backend:BANNER="  two\\nlines \\"quoted\\" \\\\ end  "  # a comment\n'
        'frontend:PLAIN=a "b" c\n'
    )
    env = _target(parse("--env-file", str(env_file))).roles
    assert env["backend"].env["TLS_KEY"] == PEM
    assert env["backend"].env["BANNER"] == '  two\nlines "quoted" \\ end  '
    assert env["frontend"].env["PLAIN"] == 'a "b" c'


SECRET = "s3cretPW"


@pytest.mark.parametrize(
    ("text", "line", "key"),
    [
        (f"DATABASE_URL=postgres://u:{SECRET}@db/neosale\n", 1, None),
        (f"# ok\npostgres://user:{SECRET}@db:5432/neosale\n", 2, None),
        (f"backend:A=1\n-----BEGIN PRIVATE KEY-----\nMIIE{SECRET}\n", 2, None),
        (f"web:TOKEN={SECRET}\n", 1, None),
        (f"backend:{SECRET}-X=1\n", 1, None),
        (f'backend:TLS_KEY="-----BEGIN\nMIIE{SECRET}\n', 1, "backend:TLS_KEY"),
        (f'backend:TOKEN="{SECRET}" {SECRET}\n', 1, "backend:TOKEN"),
    ],
)
def test_a_bad_env_file_line_is_named_by_number_without_any_of_its_text(
    tmp_path: Path, text: str, line: int, key: str | None
) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text(text)
    with pytest.raises(UsageError) as err:
        _target(parse("--env-file", str(env_file)))
    msg = str(err.value)
    assert f"--env-file {str(env_file)!r} line {line}" in msg
    assert "expected ROLE:NAME=VALUE" in msg
    for part in (SECRET, "postgres", "BEGIN", "DATABASE_URL", "web", "MIIE"):
        assert part not in msg
    if key is not None:
        assert f"({key})" in msg


def test_a_bad_env_option_is_named_by_position_without_its_value() -> None:
    with pytest.raises(UsageError) as err:
        _target(parse("--env", "backend:A=1", "--env", f"TOKEN={SECRET}"))
    assert "--env #2 does not start with a known ROLE:" in str(err.value)
    assert SECRET not in str(err.value)
    assert "TOKEN" not in str(err.value)


def test_a_missing_env_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--env-file .*nope\.env. cannot be read"):
        _target(parse("--env-file", str(tmp_path / "nope.env")))


@pytest.mark.parametrize(
    "bad",
    [
        "127.0.0.1:5000/NeoSale/app@sha256:" + "a" * 64,
        "127.0.0.1:5000/repo//name@sha256:" + "a" * 64,
        "127.0.0.1:5000/app:v1+build@sha256:" + "a" * 64,
    ],
)
def test_a_bad_reference_is_refused_before_any_host_is_reached(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The host does not exist: an error about it would mean the reference passed.
    code = main(["deploy", "--backend", bad, "--frontend", REF, "--host", "tcp://no-such-host.invalid:2376"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"--backend {bad!r} is not a valid image reference" in err
    assert "no-such-host" not in err


def test_a_bad_router_image_in_the_target_is_refused(tmp_path: Path) -> None:
    cfg = tmp_path / "target.toml"
    cfg.write_text('router_image = "registry.example/Nginx:1.27"\n')
    with pytest.raises(UsageError, match=r"router_image 'registry.example/Nginx:1.27' .* uppercase"):
        _target(parse("--config", str(cfg)))
