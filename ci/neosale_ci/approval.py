"""The manual approval a production promote needs.

In GitHub Actions the `production` environment's required reviewers approve
the job; the job then passes the sha it promotes. Run by hand, the operator
names the sha being approved: a promote of anything else is refused before
any container is touched. The deployer then checks that both images carry
that sha in their revision label.
"""

from __future__ import annotations

import re

from .errors import StageError
from .tags import is_full_sha

_APPROVER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+ -]{0,99}$")


def check_approval(sha: str, approve: str, approved_by: str) -> str:
    """The approver, recorded in the ledger; a StageError when the approval is missing or wrong."""
    if not is_full_sha(sha):
        raise StageError("promote", f"--sha {sha!r} is not a full 40-hex lowercase git sha")
    if not approve:
        raise StageError(
            "promote",
            "no approval given: production needs --approve set to the sha being promoted "
            f"({sha}); in GitHub Actions only the job behind the production environment passes it",
        )
    if approve != sha:
        raise StageError(
            "promote",
            f"--approve {approve!r} does not name the sha being promoted: expected {sha!r}",
        )
    who = approved_by.strip()
    if not _APPROVER.match(who):
        raise StageError(
            "promote",
            f"--approved-by {approved_by!r} is not a name: expected who approved "
            "(a GitHub login or an e-mail address), it goes into the deploy ledger",
        )
    return who
