"""neosale_deploy.kube's API errors, ledger ConfigMap and Lease lock, against
an in-memory API (kube_fake): no cluster needed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from neosale_deploy.errors import DeployError, LockHeldError, UsageError
from neosale_deploy.kube.api import Forbidden
from neosale_deploy.kube.config import load_kubeconfig
from neosale_deploy.kube.state import LEDGER_KEY, ConfigMapStore, LeaseLock
from neosale_deploy.state import holder_info

from .kube_fake import FakeKube

LEDGER_PATH = "/api/v1/namespaces/shop/configmaps/neosale-ledger"
LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/shop/leases/neosale-deploy-lock"


def test_a_missing_namespace_is_bad_input_naming_it() -> None:
    fake = FakeKube()
    with pytest.raises(UsageError, match=r"namespace 'nope' does not exist on https://kube\.invalid:6443"):
        fake.api("nope").check_namespace()


def test_a_forbidden_call_names_the_rbac_verb_and_path() -> None:
    fake = FakeKube()
    fake.forbid("POST", "/apis/coordination.k8s.io")
    lock = LeaseLock(fake.api(), 60, print)
    with pytest.raises(Forbidden, match="RBAC: the kubeconfig's user may not create /apis/coordination"):
        lock.acquire("d1", "deploy")


def test_an_unreachable_api_server_is_named() -> None:
    fake = FakeKube()
    fake.down = True
    with pytest.raises(
        DeployError, match=r"API server https://kube\.invalid:6443 is unreachable: ConnectError"
    ):
        ConfigMapStore(fake.api()).read()


def test_the_ledger_appends_across_writers_without_losing_a_line() -> None:
    fake = FakeKube()
    one, two = ConfigMapStore(fake.api()), ConfigMapStore(fake.api())
    one.append('{"id": "a"}\n')
    # `two` read an older copy: its replace conflicts, it re-reads and appends.
    stale = fake.objects[LEDGER_PATH]["metadata"]["resourceVersion"]
    one.append('{"id": "b"}\n')
    assert fake.objects[LEDGER_PATH]["metadata"]["resourceVersion"] != stale
    two.append('{"id": "c"}\n')
    assert one.read() == '{"id": "a"}\n{"id": "b"}\n{"id": "c"}\n'
    assert fake.objects[LEDGER_PATH]["data"][LEDGER_KEY].count("\n") == 3


def test_the_fingerprint_key_is_created_once_in_a_secret() -> None:
    fake = FakeKube()
    first, second = ConfigMapStore(fake.api()).key(), ConfigMapStore(fake.api()).key()
    assert first == second
    assert len(first) >= 32


def test_a_live_holder_keeps_the_lock_and_is_named() -> None:
    fake = FakeKube()
    LeaseLock(fake.api(), 60, print).acquire("d1", "deploy")
    with pytest.raises(LockHeldError, match=r"locked by deploy d1 by .* pid"):
        LeaseLock(fake.api(), 60, print).acquire("d2", "rollback")


def test_a_dead_holder_on_this_machine_is_taken_over_and_release_frees_the_lock() -> None:
    fake = FakeKube()
    dead = {**holder_info("d1", "deploy"), "pid": 2**22 + os.getpid() % 1000}  # no such process
    fake.objects[LEASE_PATH] = fake._stamp(
        {"metadata": {"name": "neosale-deploy-lock", "annotations": {"neosale.dev/holder": json.dumps(dead)}}}
    )
    said: list[str] = []
    lock = LeaseLock(fake.api(), 7200, said.append)
    lock.acquire("d2", "deploy")
    assert "taking over stale lock of deploy d1" in said[0]
    assert "d2" in fake.objects[LEASE_PATH]["metadata"]["annotations"]["neosale.dev/holder"]
    lock.release()
    assert LEASE_PATH not in fake.objects


def test_a_kubeconfig_with_an_exec_plugin_is_refused_clearly(tmp_path: Path) -> None:
    cfg = tmp_path / "kubeconfig"
    cfg.write_text(
        "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
        "clusters: [{name: k, cluster: {server: 'https://k:6443'}}]\n"
        "users: [{name: u, user: {exec: {command: aws}}}]\n"
    )
    with pytest.raises(UsageError, match="exec or auth-provider plugin"):
        load_kubeconfig(cfg)


def test_a_kubeconfig_without_its_current_context_names_what_is_missing(tmp_path: Path) -> None:
    cfg = tmp_path / "kubeconfig"
    cfg.write_text("current-context: gone\ncontexts: []\n")
    with pytest.raises(UsageError, match="no context named 'gone' in contexts"):
        load_kubeconfig(cfg)
    with pytest.raises(UsageError, match="cannot be read"):
        load_kubeconfig(tmp_path / "missing")
