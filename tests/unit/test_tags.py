from __future__ import annotations

import pytest

from neosale_ci.tags import Revision, TagError, sanitize_branch, tags_for, validate_tag

SHA = "0123456789abcdef0123456789abcdef01234567"


def test_branch_build_gets_sha_short_sha_and_branch() -> None:
    assert tags_for(Revision(SHA, "refs/heads/main")) == [SHA, "sha-0123456", "main"]


def test_semver_tag_gets_full_minor_and_major() -> None:
    assert tags_for(Revision(SHA, "refs/tags/v1.4.2"))[2:] == ["1.4.2", "1.4", "1"]


def test_prerelease_never_moves_floating_tags() -> None:
    assert tags_for(Revision(SHA, "refs/tags/v2.0.0-rc.1"))[2:] == ["2.0.0-rc.1"]


def test_pull_request_ref() -> None:
    assert tags_for(Revision(SHA, "refs/pull/42/merge"))[2:] == ["pr-42"]


def test_branch_names_are_sanitized() -> None:
    assert sanitize_branch("Feature/Login Page!") == "feature-login-page"
    assert tags_for(Revision(SHA, "refs/heads/Feature/Login Page!"))[-1] == "feature-login-page"


def test_no_duplicates_and_extras_kept() -> None:
    assert tags_for(Revision(SHA, "main"), ("main", "nightly")) == [SHA, "sha-0123456", "main", "nightly"]


@pytest.mark.parametrize("sha", ["abc", SHA.upper(), SHA + "0", "g" * 40])
def test_bad_sha_is_rejected_with_the_value(sha: str) -> None:
    with pytest.raises(TagError, match="is not a full 40-hex"):
        Revision(sha)


@pytest.mark.parametrize("tag", ["-x", ".x", "a" * 129, "bad tag", "ümlaut"])
def test_invalid_tags(tag: str) -> None:
    with pytest.raises(TagError, match="is invalid"):
        validate_tag(tag)
