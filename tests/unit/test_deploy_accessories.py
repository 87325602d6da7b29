"""Accessories (PostgreSQL, Redis): what `setup` would create, from the target alone."""

from __future__ import annotations

import pytest

from neosale_deploy.accessories import pg_env, wanted
from neosale_deploy.errors import UsageError
from neosale_deploy.model import parse_target

URL = "postgres://neosale:pw-9f2c@postgres:5432/neosale?schema=public"


def test_postgres_takes_its_credentials_from_the_database_url() -> None:
    target = parse_target(f'database_url = "{URL}"\nredis_image = "redis:7"\n', "t.toml")
    pg, redis = wanted(target)
    assert (pg.name, pg.image, redis.name, redis.image) == ("postgres", "postgres:16", "redis", "redis:7")
    assert pg.env == {"POSTGRES_USER": "neosale", "POSTGRES_PASSWORD": "pw-9f2c", "POSTGRES_DB": "neosale"}
    assert pg.container(target) == "neosale-staging-postgres"
    assert redis.volume(target) == "neosale-staging-redis-data"


def test_a_target_with_a_managed_database_asks_for_none() -> None:
    assert wanted(parse_target("accessories = []\n", "t.toml")) == []


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("", "setup needs the database: set database_url"),
        ('database_url = "postgres://neosale@postgres/neosale"\n', "the database URL has no password"),
        ('database_url = "mysql://u:pw-9f2c@db/x"\n', "database_url mysql://db/x is not usable"),
    ],
)
def test_setup_without_usable_credentials_is_refused_without_showing_them(toml: str, message: str) -> None:
    with pytest.raises(UsageError) as err:
        wanted(parse_target(toml, "t.toml"))
    assert message in str(err.value)
    assert "pw-9f2c" not in str(err.value)


def test_unknown_accessories_and_bad_images_are_refused() -> None:
    with pytest.raises(UsageError, match=r"accessories \['mysql'\] are not known"):
        parse_target('accessories = ["postgres", "mysql"]\n', "t.toml")
    with pytest.raises(UsageError, match=r"redis_image 'Redis:7' .* uppercase"):
        parse_target('redis_image = "Redis:7"\n', "t.toml")


def test_production_backups_name_what_needs_the_database() -> None:
    with pytest.raises(UsageError, match="--production needs the database"):
        pg_env(parse_target("", "t.toml"), "--production")
