"""The runner image: the module's python image with this repo's deployer and
smoke runner (ci/neosale_deploy, ci/neosale_smoke), their locked dependencies
and the nginx/ configuration the deployer's router runs. Delivery functions
run the same CLIs an operator runs by hand.
"""

from __future__ import annotations

import dagger
from dagger import dag

from .context import Context
from .errors import StageError

RUNNER_HOME = "/opt/neosale"
LOCK = "ci/runner/requirements.lock"
PACKAGES = ("neosale_deploy", "neosale_smoke")
VENV = f"{RUNNER_HOME}/venv"


async def runner(ctx: Context) -> dagger.Container:
    """python + the locked dependencies (hash-checked) + our two packages."""
    if not await ctx.source.glob(LOCK):
        raise StageError("runner", f"{LOCK} is missing from the source: expected the runner's lock file")
    packages = dag.directory().with_directory("nginx", ctx.source.directory("nginx"))
    for name in PACKAGES:
        packages = packages.with_directory(name, ctx.source.directory(f"ci/{name}"))
    return (
        ctx.with_ca(dag.container().from_(ctx.images.python))
        .with_env_variable("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .with_env_variable("PIP_ROOT_USER_ACTION", "ignore")
        .with_env_variable("PYTHONDONTWRITEBYTECODE", "1")
        .with_env_variable("PYTHONUNBUFFERED", "1")  # deployer phases show as they happen
        .with_mounted_cache("/root/.cache/pip", dag.cache_volume("neosale-pip"))
        .with_file(f"{RUNNER_HOME}/requirements.lock", ctx.source.file(LOCK))
        # A venv: Debian's python refuses system-wide installs (PEP 668).
        .with_exec(["python3", "-m", "venv", VENV])
        .with_env_variable("PATH", f"{VENV}/bin:${{PATH}}", expand=True)
        .with_exec(
            ["pip", "install", "--require-hashes", "--no-deps", "-r", f"{RUNNER_HOME}/requirements.lock"]
        )
        # Packages after the dependencies: a code change keeps the install cached.
        .with_directory(RUNNER_HOME, packages)
        .with_env_variable("PYTHONPATH", RUNNER_HOME)
        .with_env_variable("NEOSALE_ROUTER_CONF", f"{RUNNER_HOME}/nginx")
        .with_workdir("/work")
    )
