"""The ledger and the deploy lock on the cluster, beside the release they describe.

The ledger is a ConfigMap (neosale-ledger, JSON lines under ledger.jsonl),
written with the resourceVersion read (a concurrent writer makes us re-read
and append again, never overwrite). The env fingerprint key is a Secret. The
lock is a Lease whose holder is described as on a docker host, so a holder
that died on this machine is taken over at once, one elsewhere after lock_ttl.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable
from typing import Any

from neosale_deploy.errors import LockHeldError
from neosale_deploy.fingerprint import new_key
from neosale_deploy.kube.api import Conflict, KubeApi, NotFound
from neosale_deploy.record import now_iso
from neosale_deploy.state import holder_info, take_over_or_refuse

LEDGER = "neosale-ledger"
KEY_SECRET = "neosale-deploy-key"  # noqa: S105 (a Secret's name)
LOCK = "neosale-deploy-lock"
LEDGER_KEY = "ledger.jsonl"
HOLDER = "neosale.dev/holder"
# A ConfigMap holds at most 1 MiB: the oldest records go first.
MAX_LEDGER_BYTES = 768 * 1024
LABELS = {"app.kubernetes.io/part-of": "neosale", "app.kubernetes.io/managed-by": "neosale-deploy"}


class ConfigMapStore:
    """state.Store over a ConfigMap: every append a compare-and-swap."""

    def __init__(self, api: KubeApi) -> None:
        self.api = api
        self.where = f"configmap {api.namespace}/{LEDGER}:{LEDGER_KEY}"

    def read(self) -> str:
        try:
            return str(self.api.get(self.api.path("configmaps", LEDGER)).get("data", {}).get(LEDGER_KEY, ""))
        except NotFound:
            return ""

    def append(self, line: str) -> None:
        for _ in range(10):
            try:
                self._append_once(line)
                return
            except Conflict:
                continue  # written meanwhile: read again
        raise Conflict(409, f"{self.where}: changed under every one of 10 writes")

    def _append_once(self, line: str) -> None:
        try:
            cm = self.api.get(self.api.path("configmaps", LEDGER))
        except NotFound:
            body = {"metadata": {"name": LEDGER, "labels": LABELS}, "data": {LEDGER_KEY: line}}
            self.api.create(self.api.path("configmaps"), body)
            return
        text = str(cm.get("data", {}).get(LEDGER_KEY, "")) + line
        while len(text.encode()) > MAX_LEDGER_BYTES and "\n" in text:
            text = text.split("\n", 1)[1]
        cm.setdefault("data", {})[LEDGER_KEY] = text
        self.api.replace(self.api.path("configmaps", LEDGER), cm)  # carries the resourceVersion read

    def hold(self, held: bool) -> None:
        pass  # every append re-reads under a compare-and-swap

    def key(self) -> str:
        path = self.api.path("secrets", KEY_SECRET)
        try:
            return _secret_value(self.api.get(path))
        except NotFound:
            pass
        body = {"metadata": {"name": KEY_SECRET, "labels": LABELS}, "stringData": {"key": new_key()}}
        with contextlib.suppress(Conflict):  # created concurrently: theirs wins
            self.api.create(self.api.path("secrets"), body)
        return _secret_value(self.api.get(path))


def _secret_value(secret: dict[str, Any]) -> str:
    return base64.b64decode(secret["data"]["key"]).decode()


class LeaseLock:
    """run.Lock over a coordination.k8s.io Lease only one deployer can create."""

    def __init__(self, api: KubeApi, lock_ttl: float, log: Callable[[str], None]) -> None:
        self.api = api
        self.lock_ttl = lock_ttl
        self.log = log
        self.where = f"lease {api.namespace}/{LOCK}"
        self._held: str | None = None

    def _path(self, name: str = "") -> str:
        return self.api.path("leases", name, api="/apis/coordination.k8s.io/v1")

    def acquire(self, deploy_id: str, command: str) -> None:
        info = holder_info(deploy_id, command)
        body = {
            "metadata": {"name": LOCK, "labels": LABELS, "annotations": {HOLDER: json.dumps(info)}},
            "spec": {
                "holderIdentity": f"{command} {deploy_id}",
                "acquireTime": _micro(),
                "renewTime": _micro(),
            },
        }
        for _ in range(3):
            try:
                created = self.api.create(self._path(), body)
                self._held = str(created["metadata"]["uid"])
                return
            except Conflict:
                pass
            try:
                lease = self.api.get(self._path(LOCK))
            except NotFound:
                continue
            try:
                held = json.loads(lease["metadata"].get("annotations", {}).get(HOLDER) or "{}")
            except json.JSONDecodeError:
                held = {}
            take_over_or_refuse(held, self.lock_ttl, self.api.namespace, f"delete {self.where}", self.log)
            # By uid: a concurrent taker that already replaced it is not removed.
            self._delete(str(lease["metadata"]["uid"]))
        raise LockHeldError(f"{self.api.namespace}: could not take {self.where} (contended)")

    def release(self) -> None:
        if self._held is not None:
            self._delete(self._held)
            self._held = None

    def _delete(self, uid: str) -> None:
        with contextlib.suppress(Conflict):  # not the lease we saw
            self.api.delete(self._path(LOCK), uid=uid)


def _micro() -> str:
    """A Lease's MicroTime: RFC 3339 with microseconds."""
    return now_iso().replace("Z", "000Z")
