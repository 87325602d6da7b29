"""cluster/cluster.sh: a real node runs pods from the local registry, with
Services, cluster DNS and Argo Rollouts; `down` leaves the host as found."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from neosale_airgap.standins import module_images

from .cluster import Cluster, cluster_sh, cluster_traces, down, host_state, up, wait_until

pytestmark = pytest.mark.docker  # the local registry and root, as the deploy tests

NS = "cluster-test"


def test_down_leaves_the_host_as_found() -> None:
    down()  # a cluster left by an interrupted run is not "the host as found"
    before = host_state()
    started = time.monotonic()
    up()
    took = time.monotonic() - started
    assert cluster_sh("status").stdout.startswith("up "), "status after up"
    down()
    assert cluster_sh("status").returncode == 3, "status after down"
    assert cluster_traces(before, host_state()) == {}
    print(f"cluster up (built, node Ready, Argo Rollouts serving) in {took:.1f}s")


@pytest.fixture(scope="module")
def cluster(kube: Cluster) -> Iterator[Cluster]:
    kube.kubectl("create", "namespace", NS)
    yield kube
    kube.kubectl("delete", "namespace", NS, "--wait=false")


def web(name: str, image: str, version: str, labels: str = "") -> str:
    """An nginx Deployment-like pod template answering `version` on /version."""
    return json.dumps(
        {
            "metadata": {"labels": {"app": name}},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    {
                        "name": "web",
                        "image": image,
                        "imagePullPolicy": "IfNotPresent",
                        "command": ["sh", "-c"],
                        "args": [
                            f"mkdir -p /tmp/www && echo {version} > /tmp/www/version && "
                            "printf 'daemon off; pid /tmp/nginx.pid; events {} http { server { listen 8080; "
                            "root /tmp/www; } }' > /tmp/nginx.conf && exec nginx -c /tmp/nginx.conf"
                        ],
                        "ports": [{"containerPort": 8080}],
                        "readinessProbe": {"httpGet": {"path": "/version", "port": 8080}, "periodSeconds": 1},
                    }
                ],
            },
        }
    )


def service(name: str, selector: dict[str, str]) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"selector": selector, "ports": [{"port": 80, "targetPort": 8080}]},
        }
    )


def get_version(cluster: Cluster, svc: str) -> str:
    ip = cluster.get("-n", NS, "service", svc)["spec"]["clusterIP"]
    for _ in range(20):  # kube-proxy programs a new Service on its next sync
        try:
            return httpx.get(f"http://{ip}/version", timeout=2).text.strip()
        except httpx.TransportError:
            time.sleep(0.5)
    raise AssertionError(f"service {svc} ({ip}) never answered")


def test_a_pod_from_the_local_registry_serves_through_a_service_and_dns(cluster: Cluster) -> None:
    nginx, python = module_images()["nginx_image"], module_images()["python_image"]
    template = json.loads(web("web", nginx, "v1"))
    cluster.apply(
        json.dumps(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": NS},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}, "template": template},
            }
        )
    )
    cluster.apply(service("web", {"app": "web"}))
    cluster.kubectl("-n", NS, "rollout", "status", "deployment/web", "--timeout=120s")
    assert get_version(cluster, "web") == "v1"
    # From a pod: the Service by name through the cluster DNS (another pod, or
    # this pod's own node: both replicas answer).
    probe = (
        "import socket, urllib.request; "
        "print('resolved', socket.gethostbyname('web.cluster-test.svc.cluster.local')); "
        "print('answered', urllib.request.urlopen('http://web/version', timeout=5).read().decode().strip())"
    )
    out = cluster.kubectl(
        "-n", NS, "run", "probe", "--rm", "-i", "--restart=Never", f"--image={python}",
        "--image-pull-policy=IfNotPresent", "--command", "--", "python3", "-c", probe,
    )  # fmt: skip
    said = dict(
        line.split(" ", 1) for line in out.splitlines() if line.startswith(("resolved ", "answered "))
    )
    ip = cluster.get("-n", NS, "service", "web")["spec"]["clusterIP"]
    assert said == {"resolved": ip, "answered": "v1"}, out


def test_argo_rollouts_switches_the_active_service_to_the_new_version(cluster: Cluster) -> None:
    nginx = module_images()["nginx_image"]

    def rollout(version: str) -> str:
        return json.dumps(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Rollout",
                "metadata": {"name": "bg", "namespace": NS},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {"app": "bg"}},
                    "template": json.loads(web("bg", nginx, version)),
                    "strategy": {
                        "blueGreen": {
                            "activeService": "bg-active",
                            "previewService": "bg-preview",
                            "autoPromotionEnabled": True,
                            "scaleDownDelaySeconds": 5,
                        }
                    },
                },
            }
        )

    cluster.apply(service("bg-active", {"app": "bg"}))
    cluster.apply(service("bg-preview", {"app": "bg"}))
    cluster.apply(rollout("v1"))

    def healthy() -> bool:
        status = cluster.get("-n", NS, "rollout", "bg").get("status", {})
        stable = status.get("stableRS")
        return bool(status.get("phase") == "Healthy" and stable == status.get("currentPodHash"))

    wait_until("rollout v1 healthy", healthy, timeout=120)
    assert get_version(cluster, "bg-active") == "v1"
    first = cluster.get("-n", NS, "rollout", "bg")["status"]["stableRS"]
    cluster.apply(rollout("v2"))
    wait_until(
        "rollout v2 promoted",
        lambda: healthy() and cluster.get("-n", NS, "rollout", "bg")["status"]["stableRS"] != first,
        timeout=120,
    )
    selector = cluster.get("-n", NS, "service", "bg-active")["spec"]["selector"]
    assert selector.get("rollouts-pod-template-hash") != first
    assert get_version(cluster, "bg-active") == "v2"
