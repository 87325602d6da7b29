"""NEOSALE on the local cluster: real images per release, the repository's
manifests (deploy/kubernetes) in a namespace, and the deployer's CLI."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from neosale_airgap.env import REPO_ROOT
from neosale_airgap.standins import module_images
from tests.images.helpers import CA_BUNDLE, BuildMeta, build_image, docker

from .cluster import Cluster

REGISTRY = "127.0.0.1:5000"
BASE = REPO_ROOT / "deploy" / "kubernetes" / "base"
APPS = ("backend", "frontend")
# The cluster's entry: the live router's NodePort on the node address.
NODE_PORT = 30080


@dataclass(frozen=True)
class Release:
    """Both app images of one build, pushed by digest."""

    sha: str
    version: str
    backend: str
    frontend: str


def build_release(name: str, secrets_dir: Path) -> Release:
    meta = BuildMeta(
        git_sha=secrets.token_hex(20),
        build_time=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        app_version=f"0.1.0-k8s.{name}",
        source_url="https://git.example.invalid/neosale/neosale",
    )
    npmrc = secrets_dir / "npmrc"
    npmrc.write_text("@neosale-private:registry=https://npm.example.invalid/\n")
    refs = {}
    for app in APPS:
        tag = f"neosale-test/k8s-{app}:{name}"
        build_image(app, tag, meta, {"ca": Path(CA_BUNDLE), "npmrc": npmrc})
        refs[app] = push(tag, f"{REGISTRY}/neosale-test/k8s-{app}")
    return Release(meta.git_sha, meta.app_version, refs["backend"], refs["frontend"])


def push(tag: str, repo: str) -> str:
    """`tag` in the local registry as repo@sha256:..."""
    docker("tag", tag, f"{repo}:latest")
    out = docker("push", f"{repo}:latest", timeout=600).stdout
    digest = next(w for w in out.split() if w.startswith("sha256:"))
    return f"{repo}@{digest}"


def overlay(directory: Path, namespace: str, first: Release, runner: str) -> Path:
    """A kustomization over the repository's base: the namespace, the local
    images, the live router as a NodePort (the cluster's entry)."""
    images = module_images()
    # The base pins the official images; here they are the local stand-ins, by digest too.
    local = {
        "docker.io/library/nginx": images["nginx_image"],
        "docker.io/library/postgres": images["postgres_image"],
        "docker.io/library/redis": images["redis_image"],
        "neosale-backend": first.backend,
        "neosale-frontend": first.frontend,
        "neosale-runner": runner,
    }
    entries = []
    for name, ref in local.items():
        repo, digest = ref.split("@") if "@" in ref else (ref.rsplit(":", 1)[0], registry_digest(ref))
        entries.append(f"  - {{name: {name}, newName: {repo}, digest: '{digest}'}}")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "kustomization.yaml").write_text(
        f"namespace: {namespace}\n"
        f"resources: [{os.path.relpath(BASE, directory)}]\n"
        "images:\n" + "\n".join(entries) + "\n"
        "patches:\n"
        "  - target: {kind: Service, name: neosale-router}\n"
        "    patch: |\n"
        "      - {op: add, path: /spec/type, value: NodePort}\n"
        f"      - {{op: add, path: /spec/ports/0/nodePort, value: {NODE_PORT}}}\n"
    )
    return directory


MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json"
)


def registry_digest(ref: str) -> str:
    """The digest the local registry serves for REGISTRY/REPO:TAG."""
    host, rest = ref.split("/", 1)
    repo, tag = rest.rsplit(":", 1)
    res = httpx.head(f"http://{host}/v2/{repo}/manifests/{tag}", headers={"Accept": MANIFEST_TYPES})
    res.raise_for_status()
    return res.headers["Docker-Content-Digest"]


def install(cluster: Cluster, directory: Path, namespace: str) -> None:
    """The namespace, its Secrets (never in the manifests) and the manifests."""
    password = secrets.token_hex(12)
    cluster.kubectl("delete", "namespace", namespace, "--ignore-not-found", "--timeout=120s")
    cluster.kubectl("create", "namespace", namespace)
    cluster.kubectl(
        "-n", namespace, "create", "secret", "generic", "neosale-postgres",
        "--from-literal=POSTGRES_USER=neosale", f"--from-literal=POSTGRES_PASSWORD={password}",
        "--from-literal=POSTGRES_DB=neosale",
    )  # fmt: skip
    cluster.kubectl(
        "-n", namespace, "create", "secret", "generic", "neosale-backend",
        f"--from-literal=DATABASE_URL=postgresql://neosale:{password}@neosale-postgres:5432/neosale",
        "--from-literal=REDIS_URL=redis://neosale-redis:6379",
    )  # fmt: skip
    cluster.kubectl("apply", "--server-side", "-k", str(directory))


def deployer(
    cluster: Cluster, namespace: str, *args: str, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """`python -m neosale_deploy ARGS` against the namespace, as an operator runs it."""
    argv = [sys.executable, "-m", "neosale_deploy", *args, "--kube-namespace", namespace]
    argv += ["--kubeconfig", str(cluster.kubeconfig)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def entry_url(cluster: Cluster) -> str:
    addresses = cluster.get("node", "neosale-node")["status"]["addresses"]
    node_ip = next(a["address"] for a in addresses if a["type"] == "InternalIP")
    return f"http://{node_ip}:{NODE_PORT}"
