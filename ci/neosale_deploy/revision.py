"""The commit an image is built from: the label the pipeline's builds set, the form of
a full git sha, and the check a promote makes of the images it deploys."""

from __future__ import annotations

import re
from collections.abc import Mapping

from neosale_deploy.reference import ImageRef

REVISION_LABEL = "org.opencontainers.image.revision"
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")


def is_full_sha(value: str) -> bool:
    """A full, lowercase, 40-hex git commit sha."""
    return bool(_FULL_SHA.match(value))


def revision_problem(role: str, image: ImageRef, labels: Mapping[str, str], sha: str) -> str | None:
    """Why the image is not built from the approved commit; None when it is."""
    found = labels.get(REVISION_LABEL, "")
    if found == sha:
        return None
    return (
        f"--{role} image {image.ref} was built from commit {found or '(no label)'!r}, "
        f"not the approved {sha!r}: expected its {REVISION_LABEL} label to be the approved sha"
    )
