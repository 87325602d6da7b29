"""Env fingerprints: tell a changed env from the live one without showing it."""

from __future__ import annotations

import hashlib
import json
import stat
from pathlib import Path

from neosale_deploy.fingerprint import env_fingerprint, new_key
from neosale_deploy.state import DirStore

SECRET = "hunter2"
ENV = {"DATABASE_URL": f"postgres://neosale:{SECRET}@postgres/neosale", "LOG_LEVEL": "info"}


def test_a_changed_value_changes_the_fingerprint_and_order_does_not() -> None:
    key = new_key()
    fp = env_fingerprint(key, ENV)
    assert fp == env_fingerprint(key, dict(reversed(ENV.items())))
    assert fp != env_fingerprint(key, {**ENV, "DATABASE_URL": ENV["DATABASE_URL"] + "x"})
    assert fp != env_fingerprint(key, {**ENV, "EXTRA": ""})


def test_the_fingerprint_shows_no_value_and_is_no_plain_hash() -> None:
    key = new_key()
    fp = env_fingerprint(key, ENV)
    assert fp.startswith("hmac-sha256:")
    assert SECRET not in fp
    plain = {
        hashlib.sha256(SECRET.encode()).hexdigest(),
        hashlib.sha256(ENV["DATABASE_URL"].encode()).hexdigest(),
        hashlib.sha256(json.dumps(ENV, sort_keys=True, separators=(",", ":")).encode()).hexdigest(),
    }
    assert fp.removeprefix("hmac-sha256:") not in plain
    # Without the target's key the same env gives another fingerprint: nothing to compare across targets.
    assert fp != env_fingerprint(new_key(), ENV)


def test_the_state_dir_key_is_created_once_and_private(tmp_path: Path) -> None:
    store = DirStore(str(tmp_path / "state"))
    key = store.key()
    assert len(bytes.fromhex(key)) == 32
    assert DirStore(str(tmp_path / "state")).key() == key
    mode = stat.S_IMODE((tmp_path / "state" / "fingerprint.key").stat().st_mode)
    assert mode == 0o600
