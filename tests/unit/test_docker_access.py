"""How the deploy runner reaches a docker host: the combinations refused before any container."""

from __future__ import annotations

from typing import cast

import dagger
import pytest

from neosale_ci.deploy import DockerAccess
from neosale_ci.errors import StageError

SECRET = cast(dagger.Secret, object())  # check() looks only at which values are given
SOCKET = cast(dagger.Socket, object())


def test_a_pull_login_is_a_user_and_a_password_together() -> None:
    DockerAccess(host=SECRET, pull_username="ci", pull_password=SECRET).check("deploy")
    DockerAccess(host=SECRET).check("deploy")
    for half in (
        DockerAccess(host=SECRET, pull_username="ci"),
        DockerAccess(host=SECRET, pull_password=SECRET),
    ):
        with pytest.raises(StageError, match="--pull-username and --pull-password go together"):
            half.check("deploy")


def test_exactly_one_docker_host() -> None:
    for access in (DockerAccess(), DockerAccess(socket=SOCKET, host=SECRET)):
        with pytest.raises(StageError, match="expected exactly one docker host"):
            access.check("deploy")


def test_ssh_and_tls_credentials_are_for_a_remote_host_only() -> None:
    with pytest.raises(StageError, match="are for --docker-host, not --docker-socket"):
        DockerAccess(socket=SOCKET, ssh_key=SECRET).check("deploy")
    with pytest.raises(StageError, match="--ssh-key needs --ssh-known-hosts"):
        DockerAccess(host=SECRET, ssh_key=SECRET).check("deploy")
