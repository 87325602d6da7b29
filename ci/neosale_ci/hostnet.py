"""Reaching this machine's loopback from a container.

A container has its own loopback, so `http://127.0.0.1:8080` of a stack on
the developer's machine (or the router of a local docker engine) is reached
through a host service bound under one alias.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import dagger
from dagger import dag

from .errors import StageError

HOST_ALIAS = "neosale-host"
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def bind_host_ports(ctr: dagger.Container, ports: list[int]) -> dagger.Container:
    """`ctr` reaches the given ports of this machine's loopback as HOST_ALIAS:port."""
    if not hasattr(dag, "host"):
        # Module functions (`dagger call`) get no Host API: the engine cannot
        # open tunnels to the caller's loopback for them.
        raise StageError(
            "host network",
            f"port(s) {', '.join(map(str, sorted(set(ports))))} of this machine's loopback cannot be "
            "reached from a module function: use an address the engine's containers reach "
            "(a staging host's URL, a remote --docker-host)",
        )
    forwards = [dagger.PortForward(backend=p, frontend=p) for p in sorted(set(ports))]
    return ctr.with_service_binding(HOST_ALIAS, dag.host().service(forwards))


def check_url(stage: str, option: str, url: str) -> str:
    """An absolute http(s) URL with a host, without query or fragment; returned
    without a trailing slash."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StageError(
            stage, f"{option} {url!r} is not an http(s) URL with a host, e.g. https://staging.example.com"
        )
    if parts.query or parts.fragment:
        raise StageError(stage, f"{option} {url!r} must not carry a query or a fragment")
    return url.strip().rstrip("/")


def reach(ctr: dagger.Container, url: str) -> tuple[dagger.Container, str]:
    """`url` as `ctr` must call it: loopback URLs go through the host service."""
    parts = urlsplit(url)
    if parts.hostname not in _LOOPBACK:
        return ctr, url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return bind_host_ports(ctr, [port]), urlunsplit(parts._replace(netloc=f"{HOST_ALIAS}:{port}"))
