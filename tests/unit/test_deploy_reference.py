"""Image references: the OCI distribution grammar, checked without any host."""

from __future__ import annotations

import pytest

from neosale_deploy.errors import UsageError
from neosale_deploy.reference import parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("value", "name", "tag"),
    [
        ("app", "app", ""),
        ("127.0.0.1:5000/neosale-test/app:v1", "127.0.0.1:5000/neosale-test/app", "v1"),
        ("localhost/app", "localhost/app", ""),
        (
            "Registry.Example:443/team/app_x__y.z--w:V_1.0-rc",
            "Registry.Example:443/team/app_x__y.z--w",
            "V_1.0-rc",
        ),
        ("[::1]:5000/app", "[::1]:5000/app", ""),
        ("ghcr.io/acme/neosale-backend:" + "t" * 128, "ghcr.io/acme/neosale-backend", "t" * 128),
    ],
)
def test_valid_references_split_into_name_tag_and_digest(value: str, name: str, tag: str) -> None:
    ref = parse_reference(f"{value}@{DIGEST}", "--backend")
    assert (ref.name, ref.tag, ref.digest) == (name, tag, DIGEST)
    assert ref.pull_ref == f"{name}@{DIGEST}"
    assert ref.ref == f"{value}@{DIGEST}"


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("127.0.0.1:5000/NeoSale/app", "path component 'NeoSale' has uppercase letters"),
        ("registry.example/repo//name", "the path has an empty component"),
        ("registry.example/app/", "the path has an empty component"),
        ("registry.example/app:-bad", "tag '-bad' is not 1-128 of letters"),
        ("registry.example/app:v1!", "tag 'v1!' is not"),
        ("registry.example/app:" + "t" * 129, "tag 'ttt"),
        ("registry.example/app:", "tag '' is not"),
        ("registry.example/a..b", "path component 'a..b' is not lowercase letters and digits joined"),
        ("registry.example/-app", "path component '-app' is not"),
        ("registry.example/app_", "path component 'app_' is not"),
        ("registry.example/a___b", "path component 'a___b' is not"),
        ("-bad.example/app", "registry host '-bad.example' is not HOST[:PORT]"),
        ("registry.example:port/app", "registry host 'registry.example:port' is not"),
        ("ré.example/app", "registry host 'ré.example' is not"),
        ("registry.example/" + "a" * 250, "characters long (at most 255)"),
        ("@", "the repository name is empty"),
    ],
)
def test_bad_references_name_the_value_and_the_part_that_is_wrong(value: str, why: str) -> None:
    with pytest.raises(UsageError) as err:
        parse_reference(f"{value}@{DIGEST}" if value != "@" else f"@{DIGEST}", "--backend")
    msg = str(err.value)
    assert msg.startswith("--backend '")
    assert why in msg
    assert "expected [HOST[:PORT]/]PATH[:TAG]@sha256:<64 lowercase hex>" in msg
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("registry.example/app:v1", "it has no digest"),
        ("registry.example/app@sha256:" + "A" * 64, "is not sha256:<64 lowercase hex>"),
        ("registry.example/app@sha512:" + "a" * 128, "is not sha256"),
        ("registry.example/app@sha256:" + "a" * 63, "is not sha256"),
    ],
)
def test_a_digest_is_required(value: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        parse_reference(value, "--frontend")


def test_router_and_postgres_images_may_be_tags_but_follow_the_grammar() -> None:
    assert parse_reference("nginx:1.27", "router_image", pinned=False).digest == ""
    with pytest.raises(UsageError, match=r"router_image 'Nginx/Nginx:1.27' .*'Nginx' has uppercase"):
        parse_reference("Nginx/Nginx:1.27", "router_image", pinned=False)
