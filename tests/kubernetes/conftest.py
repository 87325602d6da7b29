"""The local Kubernetes cluster, up once per session (cluster/cluster.sh) and
down at its end, leaving the host as found."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .cluster import Cluster, down, up


@pytest.fixture(scope="session")
def kube() -> Iterator[Cluster]:
    c = up()
    try:
        yield c
    finally:
        down()
