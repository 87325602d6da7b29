"""The local Kubernetes cluster, up once for these tests (cluster/cluster.sh)
and down after the last of them, leaving the host as found."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .cluster import Cluster, down, up


@pytest.fixture(scope="package")
def kube() -> Iterator[Cluster]:
    c = up()
    try:
        yield c
    finally:
        down()
