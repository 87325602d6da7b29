"""Publishing against real registries: one behind htpasswd auth, a closed port, the embedded one.

Each test gets its own registry on its own port: the engine keeps registry
credentials per host for the whole session, so sharing a host between tests
would let one test's password answer for another's.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import dagger
import httpx
import pytest
from dagger import dag

from neosale_airgap import standins
from neosale_ci import Neosale
from neosale_ci.errors import StageError
from neosale_ci.pipeline import publish_stage
from neosale_ci.publish import Destination
from neosale_ci.report import RunReport
from neosale_ci.stages import Stages, Stopped

pytestmark = [pytest.mark.engine, pytest.mark.anyio]

SHA = "0123456789abcdef0123456789abcdef01234567"
USER = "ci"
ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


@dataclass(frozen=True)
class AuthRegistry:
    addr: str
    password: str

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=f"http://{self.addr}/v2", auth=(USER, self.password), trust_env=False
        )

    async def catalog(self) -> list[str]:
        async with self.client() as c:
            repos: list[str] = (await c.get("/_catalog")).raise_for_status().json()["repositories"]
            return repos


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def auth_registry(tmp_path: Path) -> Iterator[AuthRegistry]:
    """Debian's docker-registry with htpasswd auth on a free loopback port.

    The engine speaks plain HTTP to loopback registries without config, so
    no engine change is needed for this port.
    """
    password = "pw-" + secrets.token_hex(16)
    addr = f"127.0.0.1:{free_port()}"
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"{USER}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
    config = tmp_path / "config.yml"
    config.write_text(
        f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {tmp_path}/data\n"
        f"http:\n  addr: {addr}\nauth:\n  htpasswd:\n    realm: neosale-test\n    path: {htpasswd}\n"
    )
    log = (tmp_path / "registry.log").open("w")
    proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"http://{addr}/v2/", trust_env=False).status_code == 401:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"docker-registry on {addr} did not come up: {config}, log {log.name}")
            time.sleep(0.1)
        yield AuthRegistry(addr, password)
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def small_image(neosale: Neosale, app: str = "app") -> dagger.Container:
    # A nonce label: a digest of its own, never one another test pushed.
    return (
        dag.container().from_(neosale.python_image).with_label("test.nonce", f"{app}-{secrets.token_hex(8)}")
    )


def secret(value: str) -> dagger.Secret:
    # A fresh name per value: the engine keys secrets by name.
    return dag.set_secret(f"registry-{secrets.token_hex(8)}", value)


async def test_right_password_pushes_every_tag_to_one_digest(
    neosale: Neosale, auth_registry: AuthRegistry
) -> None:
    repo = f"{auth_registry.addr}/neosale-test/backend"
    ref = await neosale.publish(
        small_image(neosale),
        repo,
        SHA,
        ref="refs/tags/v1.2.3",
        username=USER,
        password=secret(auth_registry.password),
    )
    digest = ref.split("@", 1)[1]
    async with auth_registry.client() as registry:
        tags = (await registry.get("/neosale-test/backend/tags/list")).json()["tags"]
        heads = [
            await registry.head(f"/neosale-test/backend/manifests/{t}", headers={"Accept": ACCEPT})
            for t in tags
        ]
        manifest = (
            await registry.get(f"/neosale-test/backend/manifests/{digest}", headers={"Accept": ACCEPT})
        ).json()
    assert sorted(tags) == sorted([SHA, "sha-0123456", "1.2.3", "1.2", "1"])
    assert {h.headers["Docker-Content-Digest"] for h in heads} == {digest}
    # Every docker host can unpack it: gzip layers only (Docker < 23 has no zstd),
    # the base image's included.
    assert {layer["mediaType"].rsplit("+", 1)[-1] for layer in manifest["layers"]} == {"gzip"}


async def test_wrong_password_fails_every_image_before_any_push(
    neosale: Neosale, auth_registry: AuthRegistry
) -> None:
    wrong = "pw-" + secrets.token_hex(16)
    report = RunReport(SHA)
    images = {app: small_image(neosale, app) for app in ("backend", "frontend")}
    with suppress(Stopped):
        await publish_stage(
            Stages(report),
            images,
            [SHA, "sha-0123456"],
            f"{auth_registry.addr}/neosale-test",
            Destination(USER, secret(wrong)),
            neosale.registry_image,
        )
    assert [(s.name, s.status) for s in report.stages] == [("publish preflight", "failed")]
    detail = report.stages[0].detail
    assert f"registry {auth_registry.addr} rejected the credentials of user 'ci'" in detail
    assert "nothing was pushed" in detail
    assert detail.count("rejected the credentials") == 2  # both images named, not only the first
    assert await auth_registry.catalog() == []
    for text in (report.to_json(), report.to_markdown()):
        assert wrong not in text
        assert auth_registry.password not in text


# Its own session with the engine's log on stderr: what a CI log would show.
WRONG_PASSWORD_RUN = """
import os, sys, anyio, dagger
from dagger import dag
from neosale_ci.errors import StageError
from neosale_ci.publish import publish

async def main() -> None:
    async with dagger.connection(dagger.Config(log_output=sys.stderr)):
        image = dag.container().from_(sys.argv[1]).with_label("test.nonce", sys.argv[3])
        password = dag.set_secret("registry-" + sys.argv[3], os.environ["TEST_REGISTRY_PASSWORD"])
        try:
            await publish(image, sys.argv[2], ["latest"], "ci", password)
        except StageError as exc:
            print(exc)

anyio.run(main)
"""


def test_wrong_password_stays_out_of_the_logs(neosale: Neosale, auth_registry: AuthRegistry) -> None:
    wrong = "pw-" + secrets.token_hex(16)
    repo = f"{auth_registry.addr}/neosale-test/backend"
    res = subprocess.run(
        [sys.executable, "-c", WRONG_PASSWORD_RUN, neosale.python_image, repo, secrets.token_hex(8)],
        env={**os.environ, "TEST_REGISTRY_PASSWORD": wrong},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert f"registry {auth_registry.addr} rejected the credentials of user 'ci'" in res.stdout, res.stderr
    assert res.stderr  # the engine's log really was captured
    assert wrong not in res.stdout + res.stderr


async def test_missing_password_names_registry_and_pushes_nothing(
    neosale: Neosale, auth_registry: AuthRegistry
) -> None:
    repo = f"{auth_registry.addr}/neosale-test/backend"
    with pytest.raises(StageError) as err:
        await neosale.publish(small_image(neosale), repo, SHA)
    assert f"registry {auth_registry.addr} requires credentials for {repo}" in str(err.value)
    assert "expected a username and a registry password" in str(err.value)
    assert await auth_registry.catalog() == []


async def test_user_without_password_is_refused_before_the_registry_is_asked(
    neosale: Neosale, auth_registry: AuthRegistry
) -> None:
    repo = f"{auth_registry.addr}/neosale-test/backend"
    with pytest.raises(
        StageError, match=f"registry user 'ci' was given for {auth_registry.addr} without a password"
    ):
        await neosale.publish(small_image(neosale), repo, SHA, username=USER)


async def test_unreachable_registry_names_host_and_port(
    neosale: Neosale, capfd: pytest.CaptureFixture[str]
) -> None:
    password = "pw-" + secrets.token_hex(16)
    addr = f"127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(StageError) as err:
        await neosale.publish(
            small_image(neosale),
            f"{addr}/neosale-test/backend",
            SHA,
            username=USER,
            password=secret(password),
        )
    msg = str(err.value)
    assert f"registry {addr} is unreachable from the engine: expected an OCI registry at {addr}" in msg
    assert "connection refused" in msg
    captured = capfd.readouterr()
    for text in (msg, captured.out, captured.err):
        assert password not in text


async def test_no_registry_publishes_to_the_embedded_one(neosale: Neosale) -> None:
    tag = f"embedded-{secrets.token_hex(4)}"
    report = RunReport(SHA)
    images = {app: small_image(neosale, app) for app in ("backend", "frontend")}
    await publish_stage(Stages(report), images, [SHA, tag], "", Destination(), neosale.registry_image)
    assert report.passed, report.to_markdown()
    names = [s.name for s in report.stages]
    assert names == ["embedded registry", "publish preflight", "publish (backend)", "publish (frontend)"]
    assert [(img.app.value, img.repository, img.tags) for img in report.images] == [
        (app, f"localhost:5000/neosale/neosale-{app}", [SHA, tag]) for app in images
    ]
    block = json.loads(report.to_json())["images"]
    for img in report.images:
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", img.digest)
        assert block[img.app.value]["ref"] == f"localhost:5000/neosale/neosale-{img.app.value}@{img.digest}"
    assert report.artifacts["registry"].startswith("embedded")
    # The engine dialled the service, not the host's registry on port 5000.
    async with httpx.AsyncClient(base_url=f"http://{standins.registry_addr()}/v2", trust_env=False) as host:
        listed = await host.get("/neosale/neosale-backend/tags/list")
    assert listed.status_code == 404 or tag not in (listed.json().get("tags") or [])
