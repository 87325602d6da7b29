"""The docker host's registry login for pulls: configuration, one login per registry, no password shown."""

from __future__ import annotations

from typing import Any

import pytest
from docker.errors import APIError  # type: ignore[import-untyped]

from neosale_deploy.cli import main
from neosale_deploy.errors import UsageError
from neosale_deploy.login import PASSWORD_ENV, RegistryLogin, log_in
from neosale_deploy.reference import ImageRef, registry_host

DIGEST = "sha256:" + "a" * 64
SECRET = "tok-8c1f6d0e2b"


def ref(name: str) -> ImageRef:
    return ImageRef.parse(f"{name}@{DIGEST}", "--backend")


class FakeClient:
    """The one call log_in makes; `refuse` makes the registry answer 401."""

    def __init__(self, refuse: bool = False) -> None:
        self.logins: list[dict[str, Any]] = []
        self.refuse = refuse

    def login(self, **kwargs: Any) -> None:
        if self.refuse:
            raise APIError(
                "401", explanation=f"Get http://r/v2/: unauthorized: password {kwargs['password']} wrong"
            )
        self.logins.append(kwargs)


@pytest.mark.parametrize(
    ("name", "host"),
    [
        ("ghcr.io/acme/backend", "ghcr.io"),
        ("127.0.0.1:5050/neosale/frontend", "127.0.0.1:5050"),
        ("localhost/app", "localhost"),
        ("library/nginx", "docker.io"),
        ("nginx", "docker.io"),
    ],
)
def test_the_registry_is_the_references_host_or_docker_hub(name: str, host: str) -> None:
    assert registry_host(ref(name)) == host


def test_a_login_comes_from_the_user_and_the_environments_password() -> None:
    login = RegistryLogin.from_env("ci", {PASSWORD_ENV: SECRET})
    assert login == RegistryLogin("ci", SECRET)
    assert SECRET not in repr(login)
    assert RegistryLogin.from_env(None, {}) is None


def test_half_a_login_is_refused_naming_what_is_missing() -> None:
    with pytest.raises(UsageError, match=f"--registry-user 'ci' needs .* {PASSWORD_ENV}"):
        RegistryLogin.from_env("ci", {})
    with pytest.raises(UsageError, match=f"{PASSWORD_ENV} is set but --registry-user is not"):
        RegistryLogin.from_env("", {PASSWORD_ENV: SECRET})


def test_one_login_per_registry_the_images_come_from() -> None:
    client = FakeClient()
    images = [ref("ghcr.io/acme/backend"), ref("ghcr.io/acme/frontend"), ref("127.0.0.1:5050/x/y")]
    log_in(client, RegistryLogin("ci", SECRET), images)
    assert [c["registry"] for c in client.logins] == ["127.0.0.1:5050", "ghcr.io"]
    assert all(c["username"] == "ci" and c["password"] == SECRET for c in client.logins)
    log_in(client, None, images)  # no login configured: nothing is sent
    assert len(client.logins) == 2


def test_a_refused_login_names_registry_and_user_never_the_password() -> None:
    with pytest.raises(UsageError) as err:
        log_in(FakeClient(refuse=True), RegistryLogin("ci", SECRET), [ref("ghcr.io/acme/backend")])
    msg = str(err.value)
    assert "registry 'ghcr.io' refused the login of 'ci'" in msg
    assert "unauthorized" in msg
    assert SECRET not in msg


def test_the_cli_refuses_a_user_without_password_before_connecting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    argv = ["deploy", "--host", "tcp://192.0.2.1:1", "--registry-user", "ci"]
    code = main([*argv, "--backend", f"ghcr.io/a/b@{DIGEST}", "--frontend", f"ghcr.io/a/c@{DIGEST}"])
    assert code == 2
    assert f"--registry-user 'ci' needs its password or token in the environment variable {PASSWORD_ENV}" in (
        capsys.readouterr().err
    )
