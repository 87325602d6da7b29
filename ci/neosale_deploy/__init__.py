"""Blue-green deployer for NEOSALE on a Docker host (Docker Engine API + httpx).

Plain Python with its own CLI (`python -m neosale_deploy`); it knows nothing of
the pipeline that calls it.
"""

from __future__ import annotations

from neosale_deploy.errors import DeployError, LockHeldError, UsageError
from neosale_deploy.model import Target
from neosale_deploy.reference import ImageRef

__all__ = ["DeployError", "ImageRef", "LockHeldError", "Target", "UsageError"]
