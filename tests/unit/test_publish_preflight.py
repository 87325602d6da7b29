"""The publish preflight's reading of engine errors, on messages the engine really gives."""

from __future__ import annotations

import pytest

from neosale_ci.publish import Probe, classify_probe_error, probe_problem

REPO = "127.0.0.1:45837/neosale/neosale-backend"

# Observed from engine v0.21.8 resolving a tag that does not exist.
ENGINE_ERRORS = {
    "anonymous, basic-auth registry": (
        "pull access denied, repository does not exist or may require authorization: "
        "authorization failed: no basic auth credentials",
        Probe.NO_CREDENTIALS,
    ),
    "wrong password, basic-auth registry": (
        "unexpected status from HEAD request to http://127.0.0.1:45837/v2/neosale/x/manifests/t: "
        "401 Unauthorized",
        Probe.REJECTED,
    ),
    "right password": ("127.0.0.1:45837/neosale/x:t: not found", Probe.READY),
    "closed port": (
        'failed to do request: Head "http://127.0.0.1:1/v2/neosale/x/manifests/t": '
        "dial tcp 127.0.0.1:1: connect: connection refused",
        Probe.UNREACHABLE,
    ),
    "unknown host": (
        'failed to do request: Head "https://no-such-host.invalid:5000/v2/x/manifests/t": '
        "dial tcp: lookup no-such-host.invalid on 10.87.0.1:53: no such host",
        Probe.UNREACHABLE,
    ),
    # The shapes token-based registries (Docker Hub, GHCR) answer with.
    "wrong token, bearer registry": (
        "failed to authorize: failed to fetch oauth token: unexpected status from POST request to "
        "https://auth.docker.io/token: 401 Unauthorized",
        Probe.REJECTED,
    ),
    "repository not there yet, bearer registry": (
        "pull access denied, repository does not exist or may require authorization: "
        "server message: insufficient_scope: authorization failed",
        Probe.DENIED,
    ),
    "plain http registry, engine expects TLS": (
        'failed to do request: Head "https://10.0.0.5:5000/v2/x/manifests/t": '
        "http: server gave HTTP response to HTTPS client",
        Probe.UNREACHABLE,
    ),
    "timeout": ("dial tcp 10.255.255.1:5000: i/o timeout", Probe.UNREACHABLE),
    "something else": ("unexpected EOF", Probe.UNKNOWN),
}


@pytest.mark.parametrize(("message", "expected"), ENGINE_ERRORS.values(), ids=ENGINE_ERRORS.keys())
def test_classify_probe_error(message: str, expected: Probe) -> None:
    assert classify_probe_error(message) is expected


def test_ready_registry_goes_ahead() -> None:
    assert probe_problem(Probe.READY, REPO, "", False, "not found") is None
    assert probe_problem(Probe.READY, REPO, "ci", True, "not found") is None


def test_denied_with_credentials_goes_ahead_as_a_first_push() -> None:
    assert probe_problem(Probe.DENIED, REPO, "ci", True, "insufficient_scope") is None


@pytest.mark.parametrize("probe", [Probe.NO_CREDENTIALS, Probe.REJECTED, Probe.DENIED])
def test_missing_credentials_name_registry_and_expectation(probe: Probe) -> None:
    msg = probe_problem(probe, REPO, "", False, "no basic auth credentials")
    assert msg is not None
    assert "registry 127.0.0.1:45837 requires credentials" in msg
    assert "expected a username and a registry password" in msg


def test_rejected_credentials_name_registry_and_user() -> None:
    msg = probe_problem(Probe.REJECTED, REPO, "ci", True, "401 Unauthorized")
    assert msg == (
        "registry 127.0.0.1:45837 rejected the credentials of user 'ci': "
        "expected a valid password or token for that user"
    )


def test_unreachable_names_host_port_and_cause() -> None:
    cause = "dial tcp 127.0.0.1:1: connect: connection refused"
    msg = probe_problem(Probe.UNREACHABLE, "127.0.0.1:1/neosale/x", "", False, cause)
    assert msg is not None
    assert msg.startswith("registry 127.0.0.1:1 is unreachable from the engine: expected an OCI registry")
    assert cause in msg


def test_unknown_answer_carries_the_engine_words() -> None:
    msg = probe_problem(Probe.UNKNOWN, REPO, "ci", True, "unexpected EOF")
    assert msg is not None
    assert "127.0.0.1:45837" in msg
    assert "unexpected EOF" in msg
