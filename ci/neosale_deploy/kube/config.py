"""A kubeconfig's current context: where the API server is and how to log in.

Client certificates, bearer tokens and CA data are supported; exec and
auth-provider plugins are not (the message says so).
"""

from __future__ import annotations

import atexit
import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from neosale_deploy.errors import UsageError


@dataclass(frozen=True)
class KubeConfig:
    server: str
    namespace: str
    ssl: ssl.SSLContext | bool
    token: str | None = None
    where: str = ""


def load_kubeconfig(path: str | os.PathLike[str], namespace: str | None = None) -> KubeConfig:
    """The current context of the kubeconfig at `path`; `namespace` overrides the context's."""
    where = str(path)
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise UsageError(f"kubeconfig {where} cannot be read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageError(f"kubeconfig {where} is not YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise UsageError(
            f"kubeconfig {where} is not a kubeconfig: expected a mapping with clusters and users"
        )
    ctx = _named(doc, "contexts", "context", doc.get("current-context"), where)
    cluster = _named(doc, "clusters", "cluster", ctx.get("cluster"), where)
    user = _named(doc, "users", "user", ctx.get("user"), where)
    server = str(cluster.get("server") or "")
    if not server.startswith(("https://", "http://")):
        raise UsageError(f"kubeconfig {where}: cluster server {server!r} is not an https:// URL")
    ns = namespace or str(ctx.get("namespace") or "default")
    return KubeConfig(server.rstrip("/"), ns, _ssl(cluster, user, where), _token(user), where)


def _named(doc: dict[str, Any], section: str, key: str, name: object, where: str) -> dict[str, Any]:
    for entry in doc.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name and isinstance(entry.get(key), dict):
            return dict(entry[key])
    raise UsageError(f"kubeconfig {where}: no {key} named {name!r} in {section} (current-context)")


def _token(user: dict[str, Any]) -> str | None:
    if "exec" in user or "auth-provider" in user:
        raise UsageError(
            "kubeconfig user uses an exec or auth-provider plugin, which the deployer does not run: "
            "expected client-certificate/client-key or a token (e.g. a ServiceAccount token)"
        )
    if user.get("token"):
        return str(user["token"])
    if user.get("tokenFile"):
        return Path(user["tokenFile"]).read_text().strip()
    return None


def _ssl(cluster: dict[str, Any], user: dict[str, Any], where: str) -> ssl.SSLContext | bool:
    if cluster.get("insecure-skip-tls-verify"):
        return False
    ctx = ssl.create_default_context()
    if cluster.get("certificate-authority-data"):
        ctx.load_verify_locations(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    elif cluster.get("certificate-authority"):
        ctx.load_verify_locations(cafile=cluster["certificate-authority"])
    cert, key = _pem(user, "client-certificate"), _pem(user, "client-key")
    if cert and key:
        try:
            ctx.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"kubeconfig {where}: client certificate or key unusable: {exc}") from None
    return ctx


def _pem(user: dict[str, Any], field: str) -> str | None:
    """A path to the PEM named by `field` or carried inline as `field`-data."""
    if user.get(f"{field}-data"):
        # ssl wants files: a private 0600 file that lives as long as the process.
        fd, path = tempfile.mkstemp(prefix="neosale-kube-", suffix=".pem")
        atexit.register(os.unlink, path)
        with os.fdopen(fd, "wb") as fh:
            fh.write(base64.b64decode(user[f"{field}-data"]))
        return path
    value = user.get(field)
    return str(value) if value else None
