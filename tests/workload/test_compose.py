"""docker-compose*.yml and .env.example: structural invariants, plus `config -q` where compose exists."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .support import REPO

BASE = "docker-compose.yml"
OVERLAYS = ("docker-compose.staging.yml", "docker-compose.prod.yml")
SERVICES = {"postgres", "redis", "backend", "frontend", "nginx"}
APPS = ("backend", "frontend", "nginx")
BASE_IMAGES = {"postgres": "postgres:15-alpine", "redis": "redis:7-alpine", "nginx": "nginx:1.27-alpine"}

# ${VAR}, ${VAR:-default} or ${VAR:?message}: the whole value is one variable.
WHOLE_VAR = re.compile(r"^\$\{(?P<name>[A-Z][A-Z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}$")
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY|CREDENTIAL|_AUTH$", re.I)
URL_PASSWORD = re.compile(r"://[^/:@\s]*:(?P<password>[^/@\s]*)@")
INTERPOLATION = re.compile(r"\$\{[^}]*\}")
REQUIRED_VAR = re.compile(r"\$\{([A-Z][A-Z0-9_]*):\?")

TEST_ENV = {
    "POSTGRES_PASSWORD": "test-postgres-password",
    "REDIS_PASSWORD": "test-redis-password",
    "PUBLIC_ORIGIN": "http://localhost:8080",
    "BACKEND_IMAGE": "registry.example/neosale-backend:test",
    "FRONTEND_IMAGE": "registry.example/neosale-frontend:test",
}


def load(name: str) -> dict[str, Any]:
    data = yaml.safe_load((REPO / name).read_text())
    assert isinstance(data, dict)
    return data


def services(name: str) -> dict[str, dict[str, Any]]:
    result = load(name)["services"]
    assert isinstance(result, dict)
    return result


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def test_base_has_the_five_services() -> None:
    assert set(services(BASE)) == SERVICES


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_healthcheck(name: str) -> None:
    check = services(BASE)[name].get("healthcheck")
    assert check, name
    assert check.get("test"), name
    assert not check.get("disable"), name
    assert check["test"][0] in ("CMD", "CMD-SHELL")
    for key in ("interval", "timeout", "retries"):
        assert key in check, f"{name}: healthcheck.{key}"


def test_depends_on_waits_for_healthy_services() -> None:
    svc = services(BASE)
    expected = {"backend": {"postgres", "redis"}, "frontend": {"backend"}, "nginx": {"frontend", "backend"}}
    for name, deps in expected.items():
        depends = svc[name].get("depends_on")
        assert isinstance(depends, dict), f"{name}: depends_on must use the long form with a condition"
        assert set(depends) == deps, name
    for name, service in svc.items():
        for dep, spec in (service.get("depends_on") or {}).items():
            assert dep in svc, f"{name} depends on unknown {dep}"
            assert spec.get("condition") == "service_healthy", f"{name} -> {dep}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_resource_limits(name: str) -> None:
    limits = services(BASE)[name].get("deploy", {}).get("resources", {}).get("limits", {})
    assert limits.get("cpus"), name
    assert limits.get("memory"), name
    float(limits["cpus"])
    assert re.fullmatch(r"\d+[MG]", str(limits["memory"])), limits["memory"]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_read_only_root_filesystems(name: str) -> None:
    service = services(BASE)[name]
    assert service.get("read_only") is True, name
    assert "/tmp" in service.get("tmpfs", []), name


def test_apps_write_only_to_their_tmpfs() -> None:
    svc = services(BASE)
    assert set(svc["frontend"]["tmpfs"]) >= {"/app/.next/cache", "/tmp"}
    assert "/tmp" in svc["backend"]["tmpfs"]
    for name in APPS:
        assert svc[name].get("cap_drop") == ["ALL"], name
        assert "no-new-privileges:true" in svc[name].get("security_opt", []), name
        # Only volumes mounted read-only: nothing persistent is written by the apps.
        for volume in svc[name].get("volumes", []):
            assert str(volume).endswith(":ro"), volume


def test_app_images_are_parameterised_and_built_from_the_root() -> None:
    svc = services(BASE)
    for name, var in (("backend", "BACKEND_IMAGE"), ("frontend", "FRONTEND_IMAGE")):
        match = WHOLE_VAR.match(svc[name]["image"])
        assert match, svc[name]["image"]
        assert match["name"] == var
        assert svc[name]["build"] == {"context": ".", "dockerfile": f"Dockerfile.{name}"}


@pytest.mark.parametrize("name", sorted(BASE_IMAGES))
def test_base_images_default_to_digest_pinned_official_images(name: str) -> None:
    image = services(BASE)[name]["image"]
    match = WHOLE_VAR.match(image)
    assert match, f"{name}: image must be a variable, got {image}"
    assert match["name"] == f"{name.upper()}_IMAGE"
    if match["op"] == ":-":
        pinned = re.escape(BASE_IMAGES[name]) + r"@sha256:[0-9a-f]{64}"
        assert re.fullmatch(pinned, match["arg"]), match["arg"]
    else:
        assert match["op"] == ":?", "without a pinned default the variable must be required"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_deploy_registry_images_only(overlay: str) -> None:
    svc = services(overlay)
    assert set(svc) <= SERVICES
    for name, var in (("backend", "BACKEND_IMAGE"), ("frontend", "FRONTEND_IMAGE")):
        match = WHOLE_VAR.match(svc[name]["image"])
        assert match, svc[name]["image"]
        assert match["name"] == var
        assert match["op"] == ":?", "registry images must be required variables"
        assert svc[name].get("pull_policy") == "always"
        assert "build" not in svc[name]


def test_only_nginx_publishes_ports() -> None:
    for file in (BASE, *OVERLAYS):
        for name, service in services(file).items():
            if name != "nginx":
                assert "ports" not in service, f"{file}: {name}"
    assert load(BASE)["networks"]["data"].get("internal") is True


def walk_values(node: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [pair for k, v in node.items() for pair in walk_values(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [pair for i, v in enumerate(node) for pair in walk_values(v, f"{path}[{i}]")]
    return [(path, "" if node is None else str(node))]


@pytest.mark.parametrize("file", [BASE, *OVERLAYS])
def test_no_literal_secret_values(file: str) -> None:
    for name, service in services(file).items():
        for key, value in environment(service).items():
            if SECRET_KEY.search(key):
                match = WHOLE_VAR.match(value)
                literal = value != "" and (match is None or (match["op"] == ":-" and match["arg"] != ""))
                assert not literal, f"{file}: {name}.{key} has a literal value"
    passwords = []
    for path, value in walk_values(load(file)):
        # Each ${...} (defaults and messages included) stands for one opaque value.
        for match in URL_PASSWORD.finditer(INTERPOLATION.sub("${}", value)):
            assert match["password"] == "${}", f"{file}: {path} embeds a literal password"
            passwords.append(path)
    if file == BASE:
        assert passwords, "DATABASE_URL / REDIS_URL were expected to carry a password variable"


def test_env_example_documents_every_required_variable_without_secrets() -> None:
    lines = (REPO / ".env.example").read_text().splitlines()
    example = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    required = {v for f in (BASE, *OVERLAYS) for v in REQUIRED_VAR.findall((REPO / f).read_text())}
    assert required <= set(example), required - set(example)
    for key, value in example.items():
        if SECRET_KEY.search(key):
            assert value == "", f".env.example: {key} must be empty"


def compose_command() -> list[str] | None:
    candidates = [["docker", "compose"], ["docker-compose"]]
    for command in candidates:
        if shutil.which(command[0]) is None:
            continue
        probe = subprocess.run([*command, "version"], capture_output=True, text=True, timeout=30)
        # Compose v1 (Debian's docker-compose 1.29) predates the Compose
        # Specification these files follow (top-level `name`, no `version`).
        version = re.search(r"(\d+)\.\d+\.\d+", probe.stdout)
        if probe.returncode == 0 and version and int(version.group(1)) >= 2:
            return command
    return None


@pytest.mark.parametrize("overlay", [None, *OVERLAYS])
def test_docker_compose_config(overlay: str | None, tmp_path: Path) -> None:
    command = compose_command()
    if command is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is available")
    env_file = tmp_path / "test.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in TEST_ENV.items()))
    files = ["-f", BASE] + (["-f", overlay] if overlay else [])
    ok = subprocess.run(
        [*command, "--env-file", str(env_file), *files, "config", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    # Required variables really are required.
    env_file.write_text("PUBLIC_ORIGIN=http://localhost:8080\n")
    missing = subprocess.run(
        [*command, "--env-file", str(env_file), *files, "config", "-q"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0
    assert "POSTGRES_PASSWORD" in missing.stderr
