"""deploy/kubernetes/base: what every workload must carry, checked on the
files themselves (no cluster): resources, probes, confinement, no secret
values, and the official images the module defaults to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from neosale_ci import defaults

BASE = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes" / "base"
WORKLOADS = {"Deployment", "StatefulSet", "Rollout"}


def documents() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted(BASE.glob("*.yaml")):
        if path.name not in ("kustomization.yaml", "images.yaml"):
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def pod_specs() -> list[tuple[str, dict[str, Any]]]:
    specs = [
        (d["metadata"]["name"], d["spec"]["template"]["spec"]) for d in documents() if d["kind"] in WORKLOADS
    ]
    for d in documents():
        if d["kind"] == "AnalysisTemplate":
            for m in d["spec"]["metrics"]:
                specs.append((d["metadata"]["name"], m["provider"]["job"]["spec"]["template"]["spec"]))
    return specs


@pytest.mark.parametrize(("name", "spec"), pod_specs(), ids=[n for n, _ in pod_specs()])
def test_every_container_has_resources_and_is_confined(name: str, spec: dict[str, Any]) -> None:
    assert spec.get("automountServiceAccountToken") is False, name
    for c in spec["containers"]:
        assert {"requests", "limits"} <= set(c.get("resources", {})), f"{name}/{c['name']}"
        sc = c.get("securityContext", {})
        assert sc.get("allowPrivilegeEscalation") is False, f"{name}/{c['name']}"
        assert "ALL" in sc.get("capabilities", {}).get("drop", []), f"{name}/{c['name']}"


def test_the_apps_and_routers_run_as_non_root_on_a_read_only_root_with_probes() -> None:
    strict = {"neosale-backend", "neosale-frontend", "neosale-router", "neosale-router-preview"}
    specs = dict(pod_specs())
    for name in strict:
        spec = specs[name]
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for c in spec["containers"]:
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, name
            assert "readinessProbe" in c, name
            assert "livenessProbe" in c, name


SECRETS = {"DATABASE_URL", "REDIS_URL", "LEADS_API_TOKEN", "POSTGRES_PASSWORD", "PGPASSWORD"}


def test_no_manifest_carries_a_secret_value() -> None:
    assert "Secret" not in {d["kind"] for d in documents()}
    for name, spec in pod_specs():
        for c in spec["containers"]:
            literal = {e["name"] for e in c.get("env", []) if "value" in e}
            assert not literal & SECRETS, f"{name}/{c['name']} sets {literal & SECRETS} in the manifest"


def test_the_rollouts_are_blue_green_gated_by_the_smoke_analysis() -> None:
    rollouts = [d for d in documents() if d["kind"] == "Rollout"]
    assert {r["metadata"]["name"] for r in rollouts} == {"neosale-backend", "neosale-frontend"}
    for r in rollouts:
        bg = r["spec"]["strategy"]["blueGreen"]
        assert bg["activeService"] == r["metadata"]["name"]
        assert bg["previewService"] == r["metadata"]["name"] + "-preview"
        for key in ("prePromotionAnalysis", "postPromotionAnalysis"):
            assert bg[key]["templates"] == [{"templateName": "neosale-smoke"}]
        # A rollback is a Service switch while the previous release is still up.
        assert bg["scaleDownDelaySeconds"] >= 300


def test_the_base_images_are_the_module_defaults() -> None:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    pinned = {
        i["name"]: f"{i['newName'].removeprefix('docker.io/library/')}@{i['digest']}"
        for i in kustomization["images"]
    }
    for name, default in (
        ("nginx", defaults.NGINX),
        ("postgres", defaults.POSTGRES),
        ("redis", defaults.REDIS),
    ):
        repo, digest = default.split("@")
        assert pinned[name] == f"{repo.split(':')[0]}@{digest}", name
