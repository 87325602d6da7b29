"""Each stage against the real engine and the stand-in images, with planted defects."""

from __future__ import annotations

import json
import secrets

import dagger
import httpx
import pytest
from dagger import dag

from neosale_airgap import standins
from neosale_ci import Neosale
from neosale_ci.context import App
from neosale_ci.errors import StageError
from neosale_ci.gate import Severity
from neosale_ci.scan import ReportFormat

pytestmark = [pytest.mark.engine, pytest.mark.anyio]

SHA = "0123456789abcdef0123456789abcdef01234567"
ACCEPT = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json"


def with_source(mod: Neosale, source: dagger.Directory) -> Neosale:
    mod.source = source
    return mod


async def test_lint_failure_names_file_line_and_rule(neosale: Neosale) -> None:
    planted = neosale.source.with_new_file(
        "frontend/src/lib/planted.ts", "export function f(): number {\n  var x = 1;\n  return x;\n}\n"
    )
    with pytest.raises(StageError) as err:
        await with_source(neosale, planted).lint()
    msg = str(err.value)
    assert "lint (frontend)" in msg
    assert "planted.ts" in msg
    assert "2:3" in msg
    assert "no-var" in msg


async def test_migration_safety_blocks_a_dropped_column(neosale: Neosale) -> None:
    base = neosale.source.directory("backend/prisma/migrations")
    drop = 'ALTER TABLE "Lead" DROP COLUMN "company";\n'
    planted = neosale.source.with_new_file(
        "backend/prisma/migrations/20991231000000_drop/migration.sql", drop
    )
    with pytest.raises(StageError) as err:
        await with_source(neosale, planted).migration_safety(base=base)
    assert "20991231000000_drop/migration.sql:1 ban-drop-column" in str(err.value)


async def test_migration_safety_accepts_a_reasoned_acknowledgement(neosale: Neosale) -> None:
    base = neosale.source.directory("backend/prisma/migrations")
    sql = (
        "-- squawk-ignore ban-drop-column -- unread since v1.4 (contract step)\n"
        'ALTER TABLE "Lead" DROP COLUMN "company";\n'
    )
    planted = neosale.source.with_new_file("backend/prisma/migrations/20991231000000_drop/migration.sql", sql)
    out = await with_source(neosale, planted).migration_safety(base=base)
    assert "20991231000000_drop" in out


async def test_migration_safety_refuses_acknowledgement_without_reason(neosale: Neosale) -> None:
    base = neosale.source.directory("backend/prisma/migrations")
    sql = '-- squawk-ignore ban-drop-column\nALTER TABLE "Lead" DROP COLUMN "company";\n'
    planted = neosale.source.with_new_file("backend/prisma/migrations/20991231000000_drop/migration.sql", sql)
    with pytest.raises(StageError, match="acknowledged without a reason"):
        await with_source(neosale, planted).migration_safety(base=base)


def vulnerable_image(node_image: str) -> dagger.Container:
    pkg = json.dumps({"name": "lodash", "version": "4.17.15"})
    return (
        dag.container()
        .from_(node_image)
        .with_new_file("/app/package.json", json.dumps({"name": "app", "version": "1.0.0"}))
        .with_new_file("/app/node_modules/lodash/package.json", pkg)
    )


async def test_trivy_gate_lists_blocking_findings(neosale: Neosale) -> None:
    db = dag.host().directory(str(standins.trivy_db_cache()))
    scan = neosale.scan(vulnerable_image(neosale.node_image), name="planted", db=db)
    with pytest.raises(StageError) as err:
        await scan.gate(severity=Severity.HIGH)
    assert "CVE-2020-8203  lodash  installed 4.17.15  fixed 4.17.19  HIGH" in str(err.value)
    # Above the finding's severity the same image passes.
    assert "passed" in await scan.gate(severity=Severity.CRITICAL)
    sarif = json.loads(await (await scan.report(ReportFormat.SARIF)).contents())
    rules = {r["id"] for run in sarif["runs"] for r in run["tool"]["driver"]["rules"]}
    assert "CVE-2020-8203" in rules


async def test_sbom_is_cyclonedx(neosale: Neosale) -> None:
    sbom = json.loads(await (await neosale.sbom(vulnerable_image(neosale.node_image), "planted")).contents())
    assert sbom["bomFormat"] == "CycloneDX"
    names = {c.get("name") for c in sbom.get("components", [])}
    assert "lodash" in names


async def test_publish_pushes_every_tag_to_one_digest(neosale: Neosale) -> None:
    repo = f"{standins.registry_addr()}/neosale-test/publish-{secrets.token_hex(4)}"
    image = dag.container().from_(neosale.node_image).with_label("test.nonce", secrets.token_hex(8))
    ref = await neosale.publish(image, repo, SHA, ref="refs/tags/v1.2.3")
    digest = ref.split("@", 1)[1]
    host, path = repo.split("/", 1)
    async with httpx.AsyncClient(base_url=f"http://{host}/v2/{path}") as registry:
        tags = (await registry.get("/tags/list")).json()["tags"]
        heads = [await registry.head(f"/manifests/{tag}", headers={"Accept": ACCEPT}) for tag in tags]
    assert sorted(tags) == sorted([SHA, "sha-0123456", "1.2.3", "1.2", "1"])
    assert {h.headers["Docker-Content-Digest"] for h in heads} == {digest}


async def test_publish_bad_inputs_push_nothing(neosale: Neosale) -> None:
    repo = f"{standins.registry_addr()}/neosale-test/never-{secrets.token_hex(4)}"
    image = dag.container().from_(neosale.node_image)
    with pytest.raises(StageError, match="is invalid: expected HOST"):
        await neosale.publish(image, "Not A Repo", SHA)
    with pytest.raises(Exception, match="is not a full 40-hex"):
        await neosale.publish(image, repo, "abc")
    host, path = repo.split("/", 1)
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://{host}/v2/{path}/tags/list")).status_code == 404


async def test_registry_password_never_lands_in_the_image(neosale: Neosale) -> None:
    password = "pw-" + secrets.token_hex(16)
    repo = f"{standins.registry_addr()}/neosale-test/auth-{secrets.token_hex(4)}"
    image = dag.container().from_(neosale.node_image).with_label("test.nonce", secrets.token_hex(8))
    secret = dag.set_secret(f"registry-{secrets.token_hex(4)}", password)
    ref = await neosale.publish(image, repo, SHA, username="ci", password=secret)
    host, path = repo.split("/", 1)
    async with httpx.AsyncClient(base_url=f"http://{host}/v2/{path}") as registry:
        manifest = await registry.get(f"/manifests/{ref.split('@')[1]}", headers={"Accept": ACCEPT})
        config = await registry.get(f"/blobs/{manifest.json()['config']['digest']}")
    assert password not in manifest.text
    assert password not in config.text


async def test_unit_test_failure_names_the_test_and_file(neosale: Neosale) -> None:
    failing = (
        'import { expect, it } from "vitest";\n\nit("planted check", () => {\n  expect(1 + 1).toBe(3);\n});\n'
    )
    planted = neosale.source.with_new_file("backend/test/unit/planted.test.ts", failing)
    with pytest.raises(StageError) as err:
        await with_source(neosale, planted).unit_test()
    msg = str(err.value)
    assert "unit tests (backend)" in msg
    assert "planted.test.ts" in msg
    assert "planted check" in msg


async def test_dockerfile_lint_flags_user_root(neosale: Neosale) -> None:
    dockerfile = await neosale.source.file("Dockerfile.backend").contents()
    planted = neosale.source.with_new_file("Dockerfile.backend", dockerfile + "USER root\n")
    with pytest.raises(StageError) as err:
        await with_source(neosale, planted).dockerfile_lint()
    assert "Dockerfile.backend" in str(err.value)
    assert "DL3002" in str(err.value)  # last USER should not be root


async def test_secret_scan_finds_a_planted_token_and_masks_it(neosale: Neosale) -> None:
    # Built at run time: the repository itself must stay clean for this very check.
    token = "ghp_" + secrets.token_hex(18)
    planted = neosale.source.with_new_file("backend/src/planted.ts", f'export const token = "{token}";\n')
    with pytest.raises(StageError) as err:
        await with_source(neosale, planted).secret_scan()
    msg = str(err.value)
    assert "backend/src/planted.ts" in msg
    assert "github-pat" in msg.lower() or "GitHub Personal Access Token" in msg
    assert token not in msg


async def test_a_source_without_the_apps_is_named(neosale: Neosale) -> None:
    empty = dag.directory().with_new_file("README.md", "not NEOSALE\n")
    with pytest.raises(
        StageError, match=r"backend/package\.json is missing .* expected the NEOSALE repository"
    ):
        await with_source(neosale, empty).lint()
    with pytest.raises(StageError, match=r"Dockerfile\.frontend is missing"):
        await with_source(neosale, empty).build(app=App.frontend, sha=SHA, created="2026-01-01T00:00:00Z")


async def test_an_invalid_image_reference_fails_naming_it(neosale: Neosale) -> None:
    neosale.hadolint_image = "127.0.0.1:5000/offline/no-such-image:1"
    with pytest.raises(Exception, match="no-such-image"):
        await neosale.dockerfile_lint()


async def test_a_trivy_db_directory_without_the_db_is_named(neosale: Neosale) -> None:
    scan = neosale.scan(vulnerable_image(neosale.node_image), name="planted", db=dag.directory())
    with pytest.raises(StageError, match=r"has no db/trivy\.db: expected a Trivy cache directory"):
        await scan.gate()
