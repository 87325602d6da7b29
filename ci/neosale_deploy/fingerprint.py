"""Fingerprints of an app's environment: tell a changed env (a rotated secret) from the live one.

The fingerprint is stored where many can read it (a container label any
Docker API client inspects, the ledger that `history --json` prints to CI
logs). A plain hash of a secret is not safe there: a password or token of
low entropy is found by hashing guesses, and equal secrets show as equal
hashes across targets. HMAC-SHA256 with a random key of the target, kept only
in its deploy state (the volume on the docker host, or --state-dir), can be
neither checked against guesses nor compared without that key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping

PREFIX = "hmac-sha256:"


def new_key() -> str:
    return secrets.token_hex(32)


def env_fingerprint(key: str, env: Mapping[str, str]) -> str:
    """A keyed digest of `env` as a whole (names and values, order-independent)."""
    canonical = json.dumps(dict(env), sort_keys=True, separators=(",", ":")).encode()
    return PREFIX + hmac.new(bytes.fromhex(key), canonical, hashlib.sha256).hexdigest()
