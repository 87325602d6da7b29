"""Registry credentials the docker host pulls the release images with.

A private registry (ghcr.io for a private repository) answers a pull without
credentials with "unauthorized". The docker engine keeps no login of its own:
the client sends one with each pull. The user is configuration; the password
comes only from the environment (NEOSALE_REGISTRY_PASSWORD), never from a
file or the command line, and no message shows it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from docker.errors import APIError, DockerException  # type: ignore[import-untyped]

from neosale_deploy.errors import UsageError
from neosale_deploy.reference import ImageRef, registry_host

PASSWORD_ENV = "NEOSALE_REGISTRY_PASSWORD"  # noqa: S105 (a variable's name, not a password)


@dataclass(frozen=True)
class RegistryLogin:
    user: str
    password: str = field(repr=False)

    @classmethod
    def from_env(cls, user: str | None, environ: Mapping[str, str] = os.environ) -> RegistryLogin | None:
        """The login for `--registry-user USER`; None without one. Half a login is refused."""
        password = environ.get(PASSWORD_ENV, "")
        if not user:
            if password:
                raise UsageError(
                    f"{PASSWORD_ENV} is set but --registry-user is not: expected both or neither"
                )
            return None
        if not password:
            raise UsageError(
                f"--registry-user {user!r} needs its password or token in the environment variable "
                f"{PASSWORD_ENV}"
            )
        return cls(user, password)


def log_in(client: Any, login: RegistryLogin | None, images: Iterable[ImageRef]) -> None:
    """Log the docker client in to each registry the images come from; later pulls send it."""
    if login is None:
        return
    for host in sorted({registry_host(image) for image in images}):
        try:
            client.login(username=login.user, password=login.password, registry=host)
        except (APIError, DockerException) as exc:
            detail = str(getattr(exc, "explanation", None) or type(exc).__name__)
            raise UsageError(
                f"registry {host!r} refused the login of {login.user!r}: "
                f"{detail.replace(login.password, '***')}; "
                f"expected a user and a token ({PASSWORD_ENV}) that may pull the release images"
            ) from None
