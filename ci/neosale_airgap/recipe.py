"""How a manifest entry becomes a container in the Dagger engine: the apt
step, the extra steps, the image config and labels, the check, the publish.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from neosale_airgap.inputs import Inputs
from neosale_airgap.manifest import INPUTS_LABEL, ROOTFS, Image, Manifest, Step
from neosale_airgap.planning import BUILDER_VERSION, Artifact
from neosale_airgap.results import progress

if TYPE_CHECKING:
    import dagger

FETCH_DIR = "/run/neosale-fetch"  # in the container: package tarballs mounted for one step, never kept


class StepError(RuntimeError):
    """A build step failed: names the image and the step."""

    def __init__(self, image: str, step: str, detail: str) -> None:
        self.image, self.step, self.detail = image, step, detail
        super().__init__(f"image '{image}': step '{step}' failed: {detail}")


def apt_script(sources: Sequence[str], packages: Sequence[str]) -> str:
    """Shell for the apt step: our sources, no service starts, no caches left behind."""
    lines = ["set -eu"]
    if sources:
        quoted = " ".join(shlex.quote(s) for s in sources)
        lines.append(f"printf '%s\\n' {quoted} >/etc/apt/sources.list")
    if packages:
        lines += [
            # Package scripts must not start daemons inside a build step.
            "printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d",
            "apt-get update -q",
            "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
            + " ".join(shlex.quote(p) for p in packages),
            "apt-get clean",
            "rm -rf /var/lib/apt/lists/* /usr/sbin/policy-rc.d /var/log/apt /var/log/dpkg.log",
        ]
    return "\n".join(lines)


def labels(manifest: Manifest, image: Image, inputs: str, artifacts: Sequence[Artifact]) -> dict[str, str]:
    base = (
        "debian:bookworm (debootstrap minbase)"
        if image.base == ROOTFS
        else f"{manifest.namespace}/{image.base}:{manifest.images[image.base].tag}"
    )
    out = {
        "org.opencontainers.image.title": f"{manifest.namespace}/{image.name}",
        "org.opencontainers.image.description": image.description,
        "org.opencontainers.image.version": image.version,
        "org.opencontainers.image.vendor": "NeoSale CI (air-gapped stand-in, not an official image)",
        "org.opencontainers.image.base.name": base,
        INPUTS_LABEL: inputs,
        "dev.neosale.airgap.builder": BUILDER_VERSION,
    }
    if artifacts:
        out["dev.neosale.airgap.artifacts"] = " ".join(a.label for a in artifacts)
    return out


def exec_detail(exc: Exception) -> str:
    import dagger

    if isinstance(exc, dagger.ExecError):
        tail = "\n".join((exc.stderr.strip() or exc.stdout.strip()).splitlines()[-15:])
        return f"exit code {exc.exit_code}\n{tail}"
    return str(exc).strip() or type(exc).__name__


class Builder:
    """The thin engine part: turns manifest entries into containers."""

    def __init__(self, manifest: Manifest, inputs: Inputs, base_oci: Path, *, bust: str = "") -> None:
        self.manifest = manifest
        self.inputs = inputs
        self.base_oci = base_oci
        self.bust = bust
        self._built: dict[str, dagger.Container] = {}

    async def step(self, image: str, what: str, ctr: dagger.Container) -> dagger.Container:
        import dagger

        t0 = time.monotonic()
        try:
            await ctr.sync()
        except dagger.DaggerError as exc:
            raise StepError(image, what, exec_detail(exc)) from None
        progress(f"  {image}: {what} ({time.monotonic() - t0:.1f}s)")
        return ctr

    def _sh(self, script: str) -> list[str]:
        # The nonce (--no-cache) changes the command, so the engine runs it afresh.
        return ["sh", "-c", f": {self.bust}\n{script}" if self.bust else script]

    async def container(self, name: str) -> dagger.Container:
        """The configured (unchecked) container of `name`, bases built first."""
        if name in self._built:
            return self._built[name]
        image = self.manifest.images[name]
        ctr = await self._packages(image, await self._base(image))
        for step, art in zip(image.steps, self.inputs.artifacts[name], strict=True):
            ctr = await self.step(name, step.describe(), self._apply(ctr, step, art))
        ctr = self._configure(image, ctr)
        self._built[name] = ctr
        return ctr

    async def _base(self, image: Image) -> dagger.Container:
        from dagger import dag

        if image.base == ROOTFS:
            return dag.container().import_(dag.host().file(str(self.base_oci)))
        return (await self.container(image.base)).with_user("root")

    async def _packages(self, image: Image, ctr: dagger.Container) -> dagger.Container:
        """The apt step: always on the rootfs (our sources), on other bases only for packages."""
        if image.base != ROOTFS and not image.apt:
            return ctr
        sources = self.manifest.apt_sources if image.base == ROOTFS else ()
        what = f"apt-get install {' '.join(image.apt)}" if image.apt else "apt sources"
        return await self.step(image.name, what, ctr.with_exec(self._sh(apt_script(sources, image.apt))))

    def _apply(self, ctr: dagger.Container, step: Step, art: Artifact | None) -> dagger.Container:
        from dagger import dag

        if step.kind == "run":
            return ctr.with_exec(self._sh(step.source))
        assert art is not None
        src = dag.host().file(str(art.path))
        if step.copies_single_file:
            return ctr.with_file(step.to, src, permissions=step.mode)
        # A whole npm package: unpack its 'package/' folder into `to`.
        tgz = f"{FETCH_DIR}/{art.path.name}"
        to = shlex.quote(step.to)
        return (
            ctr.with_mounted_file(tgz, src)
            .with_exec(
                self._sh(
                    f"mkdir -p {to} && tar -xzf {shlex.quote(tgz)} -C {to} "
                    "--strip-components=1 --no-same-owner"
                )
            )
            .without_mount(tgz)
        )

    def _configure(self, image: Image, ctr: dagger.Container) -> dagger.Container:
        """The image config of the manifest entry, and the labels that record its inputs."""
        for key, value in image.env:
            ctr = ctr.with_env_variable(key, value, expand=True)
        if image.workdir:
            ctr = ctr.with_workdir(image.workdir)
        if image.entrypoint:
            ctr = ctr.with_entrypoint(list(image.entrypoint))
        if image.cmd:
            ctr = ctr.with_default_args(list(image.cmd))
        for port in image.ports:
            ctr = ctr.with_exposed_port(port)
        ctr = ctr.with_user(self.manifest.effective_user(image.name) or "root")
        arts = [a for a in self.inputs.artifacts[image.name] if a is not None]
        for key, value in labels(self.manifest, image, self.inputs.hashes[image.name], arts).items():
            ctr = ctr.with_label(key, value)
        return ctr

    def check(self, name: str, ctr: dagger.Container) -> dagger.Container:
        return ctr.with_exec(self._sh(self.manifest.images[name].check))

    async def publish(self, name: str, ref: str) -> str:
        """Build, check, then push `name`; returns its digest. A failed check never reaches the registry."""
        import dagger

        ctr = await self.container(name)
        await self.step(name, "check", self.check(name, ctr))
        try:
            return (await ctr.publish(ref)).rpartition("@")[2]
        except dagger.DaggerError as exc:
            raise StepError(name, "publish", exec_detail(exc)) from None
