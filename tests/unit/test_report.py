from __future__ import annotations

import json

from neosale_ci.context import App
from neosale_ci.publish import PublishedImage
from neosale_ci.report import RunReport, StageResult

DIGEST = "sha256:" + "ab" * 32


def _image(app: App) -> PublishedImage:
    repo = f"ghcr.io/acme/neosale-{app.value}"
    tags = ["a" * 40, "sha-aaaaaaa", "main"]
    return PublishedImage(app=app, repository=repo, digest=DIGEST, tags=tags)


def test_failed_run_names_stage_and_keeps_what_ran() -> None:
    r = RunReport("f" * 40)
    r.add(StageResult("lint (backend)", "passed", 1.3))
    r.add(StageResult("unit tests (frontend)", "failed", 3.0, "src/a.test.ts:12 expected 2 got 3"))
    r.add(StageResult("publish", "skipped", 0.0))
    data = json.loads(r.to_json())
    assert data["passed"] is False
    assert data["failed_stage"] == "unit tests (frontend)"
    assert [s["name"] for s in data["stages"]] == ["lint (backend)", "unit tests (frontend)", "publish"]
    md = r.to_markdown()
    assert "failed at **unit tests (frontend)**" in md
    assert "| lint (backend) | ✅ passed | 1.3s |" in md
    assert "src/a.test.ts:12 expected 2 got 3" in md


def test_passed_run_lists_artifacts() -> None:
    r = RunReport("a" * 40)
    r.add(StageResult("build (backend)", "passed", 2.0))
    r.artifacts["registry"] = "embedded (localhost:5000 inside the engine, gone after the run)"
    md = r.to_markdown()
    assert "passed" in md.splitlines()[0]
    assert "- **registry**: `embedded (localhost:5000" in md


def test_images_block_is_generated_from_the_published_images() -> None:
    r = RunReport("a" * 40)
    r.images += [_image(App.backend), _image(App.frontend)]
    data = json.loads(r.to_json())
    assert data["images"] == {
        app: {
            "repository": f"ghcr.io/acme/neosale-{app}",
            "digest": DIGEST,
            "tags": ["a" * 40, "sha-aaaaaaa", "main"],
            "ref": f"ghcr.io/acme/neosale-{app}@{DIGEST}",
        }
        for app in ("backend", "frontend")
    }
    assert "image" not in " ".join(data["artifacts"])  # one place for images, not display strings
    md = r.to_markdown()
    assert (
        f"- **backend**: `ghcr.io/acme/neosale-backend@{DIGEST}` (tags: {'a' * 40}, sha-aaaaaaa, main)" in md
    )


def test_a_run_that_published_nothing_has_an_empty_images_block() -> None:
    r = RunReport("a" * 40)
    r.add(StageResult("publish preflight", "failed", 0.4, "registry ghcr.io is unreachable"))
    assert json.loads(r.to_json())["images"] == {}
    assert "### Images" not in r.to_markdown()


def test_ref_is_repository_at_digest() -> None:
    assert _image(App.frontend).ref() == f"ghcr.io/acme/neosale-frontend@{DIGEST}"
