"""The manual approval a production promote needs."""

from __future__ import annotations

import pytest

from neosale_ci.approval import check_approval
from neosale_ci.errors import StageError

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_an_approval_naming_the_sha_returns_the_approver() -> None:
    assert check_approval(SHA, SHA, " alice ") == "alice"
    assert check_approval(SHA, SHA, "ops@example.com") == "ops@example.com"


@pytest.mark.parametrize(
    ("sha", "approve", "who", "expected"),
    [
        (SHA, "", "alice", "no approval given"),
        (SHA, SHA[:7], "alice", "does not name the sha being promoted"),
        (SHA, "f" * 40, "alice", f"expected {SHA!r}"),
        (SHA, SHA, "", "--approved-by '' is not a name"),
        (SHA, SHA, "a; rm -rf /", "is not a name"),
        ("main", "main", "alice", "--sha 'main' is not a full 40-hex"),
    ],
)
def test_a_missing_or_wrong_approval_is_refused(sha: str, approve: str, who: str, expected: str) -> None:
    with pytest.raises(StageError, match="promote") as err:
        check_approval(sha, approve, who)
    assert expected in err.value.message
