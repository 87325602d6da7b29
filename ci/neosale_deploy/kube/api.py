"""The few Kubernetes API calls the deployer makes, over httpx.

Errors name what failed in operator terms: an unreachable API server, a
missing namespace, or the RBAC verb and resource the credentials lack.
Tests pass an httpx transport (httpx.MockTransport) instead of a network.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from neosale_deploy.errors import DeployError, UsageError
from neosale_deploy.kube.config import KubeConfig

ROLLOUTS = "/apis/argoproj.io/v1alpha1"
JSON_MERGE = "application/merge-patch+json"


class ApiError(DeployError):
    """The API server refused a request; `status` is its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    """The object exists already, or changed since it was read."""


class Forbidden(ApiError):
    exit_code = 2  # the credentials are the bad input


class KubeApi:
    """Namespaced JSON calls: get, create, patch (merge), replace, delete, and pod logs."""

    def __init__(self, config: KubeConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.namespace = config.namespace
        headers = {"Authorization": f"Bearer {config.token}"} if config.token else {}
        self._http = httpx.Client(
            base_url=config.server, verify=config.ssl, headers=headers, timeout=30, transport=transport
        )

    def path(self, kind: str, name: str = "", api: str = "/api/v1") -> str:
        """The URL path of `kind` (plural, e.g. "jobs") in our namespace, or of one object."""
        return f"{api}/namespaces/{self.namespace}/{kind}" + (f"/{name}" if name else "")

    def get(self, path: str, **params: str) -> Any:
        return self._call("GET", path, params=params or None)

    def create(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, json=body)

    def replace(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("PUT", path, json=body)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("PATCH", path, json=body, headers={"Content-Type": JSON_MERGE})

    def delete(self, path: str, uid: str | None = None, propagation: str = "Background") -> Any:
        """Delete, if still there (and still the object with `uid`: else Conflict)."""
        body: dict[str, Any] = {"kind": "DeleteOptions", "propagationPolicy": propagation}
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            return self._call("DELETE", path, json=body)
        except NotFound:
            return None

    def text(self, path: str, **params: str) -> str:
        return str(self._call("GET", path, params=params or None, raw=True))

    def check_namespace(self) -> None:
        """Stop with a clear error before anything else when the namespace is not there."""
        try:
            self.get(f"/api/v1/namespaces/{self.namespace}")
        except NotFound:
            raise UsageError(
                f"namespace {self.namespace!r} does not exist on {self.config.server}: "
                "expected the namespace the NEOSALE manifests were applied to"
            ) from None
        except Forbidden:
            pass  # may read its objects without reading the namespace itself

    def _call(self, method: str, path: str, raw: bool = False, **kwargs: Any) -> Any:
        for attempt in range(3):
            try:
                res = self._http.request(method, path, **kwargs)
                break
            except httpx.TransportError as exc:
                if attempt == 2:
                    raise DeployError(
                        f"the Kubernetes API server {self.config.server} is unreachable: "
                        f"{type(exc).__name__}: {exc}"
                    ) from None
                time.sleep(0.5 * (attempt + 1))
        if res.status_code >= 400:
            raise _error(method, path, res)
        return res.text if raw else res.json()


def _error(method: str, path: str, res: httpx.Response) -> ApiError:
    try:
        message = str(res.json().get("message") or res.text)
    except ValueError:
        message = res.text.strip()
    if res.status_code == 403:
        return Forbidden(
            403, f"RBAC: the kubeconfig's user may not {VERBS.get(method, method)} {path}: {message}"
        )
    kind = {404: NotFound, 409: Conflict}.get(res.status_code, ApiError)
    return kind(res.status_code, f"{method} {path}: HTTP {res.status_code}: {message}")


VERBS = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
