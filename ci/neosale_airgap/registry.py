"""Read-only questions to the local registry (distribution v2 HTTP API)."""

from __future__ import annotations

from typing import Any

import httpx

from neosale_airgap.manifest import INPUTS_LABEL

_MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)


class RegistryDownError(RuntimeError):
    def __init__(self, addr: str, why: str) -> None:
        self.addr = addr
        super().__init__(
            f"no registry answers at http://{addr}/v2/ ({why}); start it with airgap/registry.sh start "
            f"(or point NEOSALE_REGISTRY_ADDR at the one you run)"
        )


def _client(addr: str) -> httpx.Client:
    # trust_env=False: a proxy from the environment must never see loopback traffic.
    return httpx.Client(base_url=f"http://{addr}", timeout=10, trust_env=False)


def ping(addr: str) -> None:
    try:
        with _client(addr) as c:
            res = c.get("/v2/")
    except httpx.HTTPError as exc:
        raise RegistryDownError(addr, type(exc).__name__) from None
    if res.status_code not in (200, 401):
        raise RegistryDownError(addr, f"HTTP {res.status_code}")


def image_config(addr: str, repository: str, tag: str) -> dict[str, Any] | None:
    """The image config of repository:tag (linux/amd64 for an index), or None if absent."""
    with _client(addr) as c:
        ref = tag
        for _ in range(2):  # an index points at one more manifest
            res = c.get(f"/v2/{repository}/manifests/{ref}", headers={"Accept": _MANIFEST_TYPES})
            if res.status_code == 404:
                return None
            res.raise_for_status()
            doc: dict[str, Any] = res.json()
            if "manifests" in doc:
                picks = [
                    m
                    for m in doc["manifests"]
                    if m.get("platform", {}).get("architecture") in (None, "amd64")
                ]
                if not picks:
                    return None
                ref = picks[0]["digest"]
                continue
            blob = c.get(f"/v2/{repository}/blobs/{doc['config']['digest']}")
            if blob.status_code == 404:
                return None
            blob.raise_for_status()
            config: dict[str, Any] = blob.json()
            return config
    return None


def published_inputs(addr: str, repository: str, tag: str) -> str | None:
    """The inputs hash recorded in the image's label, if the image is there."""
    config = image_config(addr, repository, tag)
    if config is None:
        return None
    labels = (config.get("config") or {}).get("Labels") or {}
    value = labels.get(INPUTS_LABEL)
    return value if isinstance(value, str) else None


def pinned_ref(addr: str, repository: str, tag: str) -> str:
    """`addr/repository:tag@sha256:…`: the tag pinned to the manifest the registry serves now."""
    with _client(addr) as c:
        res = c.head(f"/v2/{repository}/manifests/{tag}", headers={"Accept": _MANIFEST_TYPES})
    if res.status_code == 404:
        raise LookupError(f"{addr}/{repository}:{tag} is not in the registry: build the image set first")
    res.raise_for_status()
    return f"{addr}/{repository}:{tag}@{res.headers['Docker-Content-Digest']}"
