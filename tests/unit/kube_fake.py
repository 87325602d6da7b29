"""An in-memory Kubernetes API for neosale_deploy.kube's tests (an httpx transport).

Objects live by path; POST creates (409 if there), PUT replaces only at the
resourceVersion read (409 otherwise), DELETE honours a uid precondition.
`forbid` makes a verb on a path prefix answer 403, `down` every request fail.
"""

from __future__ import annotations

import base64
import json
import ssl
import uuid
from typing import Any

import httpx

from neosale_deploy.kube.api import KubeApi
from neosale_deploy.kube.config import KubeConfig


class FakeKube:
    def __init__(self, namespace: str = "shop") -> None:
        self.objects: dict[str, dict[str, Any]] = {
            f"/api/v1/namespaces/{namespace}": {"metadata": {"name": namespace}}
        }
        self.forbidden: set[tuple[str, str]] = set()
        self.down = False
        self.requests: list[str] = []
        self._version = 0

    def api(self, namespace: str = "shop") -> KubeApi:
        config = KubeConfig("https://kube.invalid:6443", namespace, ssl.create_default_context())
        return KubeApi(config, transport=httpx.MockTransport(self.handle))

    def forbid(self, method: str, prefix: str) -> None:
        self.forbidden.add((method, prefix))

    def _stamp(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store as the API server does: a new resourceVersion, a uid, Secrets' stringData encoded."""
        for key, value in obj.pop("stringData", {}).items():
            obj.setdefault("data", {})[key] = base64.b64encode(value.encode()).decode()
        self._version += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self._version)
        obj["metadata"].setdefault("uid", str(uuid.uuid4()))
        return obj

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        path, method = request.url.path, request.method
        self.requests.append(f"{method} {path}")
        if any(method == m and path.startswith(p) for m, p in self.forbidden):
            return httpx.Response(403, json={"message": f'forbidden: cannot {method.lower()} "{path}"'})
        body = json.loads(request.content) if request.content else {}
        if method == "POST":
            name = path + "/" + body["metadata"]["name"]
            if name in self.objects:
                return httpx.Response(409, json={"message": "already exists"})
            self.objects[name] = self._stamp(body)
            return httpx.Response(201, json=self.objects[name])
        if path not in self.objects:
            if method == "GET" and "labelSelector" in request.url.params:
                return httpx.Response(200, json={"items": []})
            return httpx.Response(404, json={"message": f"{path} not found"})
        current = self.objects[path]
        if method == "GET":
            return httpx.Response(200, json=current)
        if method == "PUT":
            if body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                return httpx.Response(409, json={"message": "the object has been modified"})
            body["metadata"]["uid"] = current["metadata"]["uid"]
            self.objects[path] = self._stamp(body)
            return httpx.Response(200, json=self.objects[path])
        if method == "DELETE":
            uid = (body.get("preconditions") or {}).get("uid")
            if uid and uid != current["metadata"]["uid"]:
                return httpx.Response(409, json={"message": "precondition failed: uid"})
            del self.objects[path]
            return httpx.Response(200, json={})
        return httpx.Response(405, json={"message": f"{method} not faked"})
