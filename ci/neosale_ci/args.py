"""Arguments several module functions take, each documented once."""

from __future__ import annotations

from typing import Annotated

import dagger
from dagger import Doc

from .deploy import Environment

ShaArg = Annotated[str, Doc("full 40-hex git commit sha being built")]
RefArg = Annotated[str, Doc("git ref (refs/heads/main, refs/tags/v1.2.3, refs/pull/7/merge)")]
DigestArg = Annotated[str, Doc("image pinned by digest: REPOSITORY@sha256:<64 hex>")]
EnvironmentArg = Annotated[Environment, Doc("the environment, deploy/<environment>.toml")]
TargetArg = Annotated[
    dagger.File | None, Doc("deployer target TOML; default: deploy/<environment>.toml of the source")
]
AppEnvArg = Annotated[
    dagger.Secret | None, Doc("ROLE:NAME=VALUE lines for the app containers (DATABASE_URL, tokens)")
]
PromotedShaArg = Annotated[
    str, Doc("the commit being promoted: both images' revision label, and what --approve must name")
]
CreatedArg = Annotated[str, Doc("build time, RFC 3339")]
VersionArg = Annotated[str, Doc("version label; default: short sha")]
UsernameArg = Annotated[str, Doc("registry user")]
PasswordArg = Annotated[dagger.Secret | None, Doc("registry password or token")]
RegistryArg = Annotated[
    str, Doc("HOST[:PORT]/NAMESPACE to publish to; empty: an embedded registry for the run")
]
BaseMigrationsArg = Annotated[
    dagger.Directory | None, Doc("backend/prisma/migrations at the base ref, for migration safety")
]
