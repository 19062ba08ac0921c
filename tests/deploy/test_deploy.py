"""deploy/ checked without Docker or Kubernetes (neither can run on these machines).

What can be checked here is checked: every YAML document parses and the kustomization
lists only files that exist; every ``MREG_*`` variable deploy/ names is a field of
``Settings``; every command the manifests and compose run is a module with a
``__main__``; the gRPC probe service names and ports agree with the generated
descriptors and the ConfigMap; and the image's default entry point, run as the
Dockerfile runs it, starts, reports SERVING and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import artifacts_pb2, registry_pb2
from services.common.server import insecure_channel
from services.common.settings import Settings
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
BASE = DEPLOY / "k8s" / "base"

MREG_VAR = re.compile(r"\bMREG_[A-Z0-9_]+\b")

#: Each service module, the full name of the gRPC service it serves and its listen setting.
SERVICES: dict[str, tuple[str, str]] = {
    "services.gateway": (
        registry_pb2.DESCRIPTOR.services_by_name["RegistryService"].full_name,
        "MREG_GATEWAY_LISTEN",
    ),
    "services.artifacts": (
        artifacts_pb2.DESCRIPTOR.services_by_name["ArtifactService"].full_name,
        "MREG_ARTIFACTS_LISTEN",
    ),
    "services.metadata": (
        metadata_pb2.DESCRIPTOR.services_by_name["MetadataService"].full_name,
        "MREG_METADATA_LISTEN",
    ),
}
#: Every command the deployment runs (``python -m`` plus these arguments).
EXPECTED_COMMANDS = {
    ("services.gateway",),
    ("services.artifacts",),
    ("services.metadata",),
    ("services.metadata", "migrate"),
    ("services.artifacts", "gc"),
}


# --------------------------------------------------------------------------- helpers


def _yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in (".yaml", ".yml"))


def _documents(path: Path) -> list[Any]:
    with path.open() as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def _k8s_objects() -> list[dict[str, Any]]:
    kustomization = _documents(BASE / "kustomization.yaml")[0]
    objects: list[dict[str, Any]] = []
    for name in kustomization["resources"]:
        objects.extend(_documents(BASE / name))
    return objects


def _of_kind(kind: str) -> list[dict[str, Any]]:
    return [obj for obj in _k8s_objects() if obj.get("kind") == kind]


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def _workloads() -> list[dict[str, Any]]:
    return [o for o in _k8s_objects() if o["kind"] in ("Deployment", "Job", "CronJob")]


def _compose() -> dict[str, Any]:
    return _documents(COMPOSE)[0]


def _configmap() -> dict[str, str]:
    (configmap,) = _of_kind("ConfigMap")
    return configmap["data"]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of the final stage, continuation lines joined."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword.upper() == "FROM":
            instructions = []  # only the last stage makes the image
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def _dockerfile_exec_form(keyword: str) -> list[str]:
    values = [rest for kw, rest in _dockerfile_instructions() if kw == keyword]
    assert values, f"deploy/Dockerfile has no {keyword}"
    parsed = json.loads(values[-1])
    assert isinstance(parsed, list), f"{keyword} must use the exec (JSON) form"
    return parsed


def _dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, rest in _dockerfile_instructions():
        if keyword == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def _image_command() -> list[str]:
    return _dockerfile_exec_form("ENTRYPOINT") + _dockerfile_exec_form("CMD")


def _commands() -> dict[str, tuple[str, ...]]:
    """Every ``python -m`` command deploy/ runs, keyed by where it is run."""
    entrypoint = _dockerfile_exec_form("ENTRYPOINT")
    assert entrypoint == ["python", "-m"], "the image runs `python -m <module> [args]`"
    commands = {"Dockerfile CMD": tuple(_dockerfile_exec_form("CMD"))}
    for name, service in _compose()["services"].items():
        if "image" in service and service["image"].startswith("modelregistry"):
            commands[f"compose service {name}"] = tuple(service["command"])
    for obj in _workloads():
        for container in _pod_spec(obj)["containers"]:
            assert "command" not in container, "keep the image's ENTRYPOINT; set args only"
            commands[f"{obj['kind']} {obj['metadata']['name']}"] = tuple(container["args"])
    return commands


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


# --------------------------------------------------------------------------- (1) parsing


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_every_yaml_document_parses(path: Path) -> None:
    assert _documents(path), f"{path} has no document"


def test_kustomization_lists_only_files_that_exist() -> None:
    kustomization = _documents(BASE / "kustomization.yaml")[0]
    assert kustomization["kind"] == "Kustomization"
    listed = kustomization["resources"]
    missing = [name for name in listed if not (BASE / name).is_file()]
    assert not missing, f"kustomization.yaml lists missing files: {missing}"
    unlisted = sorted(p.name for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == unlisted, "every manifest in the base is listed, once"
    kinds = {obj["kind"] for obj in _k8s_objects()}
    expected = {"Deployment", "Service", "Job", "ConfigMap", "Secret"}
    assert expected | {"HorizontalPodAutoscaler"} <= kinds


def test_kustomize_renders_when_kubectl_is_here() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed")
    result = subprocess.run(
        [kubectl, "kustomize", str(BASE)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    rendered = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    assert len(rendered) == len(_k8s_objects())


def test_compose_runs_the_whole_stack_with_health_checks() -> None:
    services = _compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["minio"]["image"].startswith("minio/minio")
    assert services["createbucket"]["image"].startswith("minio/mc")
    for name in ("postgres", "minio", "metadata", "artifacts", "gateway"):
        assert "healthcheck" in services[name], f"compose service {name} has no healthcheck"
    assert services["metadata"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["artifacts"]["depends_on"]["createbucket"]["condition"] == (
        "service_completed_successfully"
    )
    for peer in ("metadata", "artifacts"):
        assert services["gateway"]["depends_on"][peer]["condition"] == "service_healthy"


def test_hpas_scale_the_gateway_and_the_artifact_service() -> None:
    deployments = {d["metadata"]["name"] for d in _of_kind("Deployment")}
    targets = set()
    for hpa in _of_kind("HorizontalPodAutoscaler"):
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments
        targets.add(target["name"])
    assert targets == {"mreg-gateway", "mreg-artifacts"}


def test_pods_run_as_non_root_with_resources() -> None:
    for obj in _workloads():
        pod = _pod_spec(obj)
        where = f"{obj['kind']} {obj['metadata']['name']}"
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, where
            assert {"requests", "limits"} <= set(container["resources"]), where
    user = [rest for kw, rest in _dockerfile_instructions() if kw == "USER"]
    assert user and not user[-1].startswith(("root", "0")), "the image runs as non-root"


# --------------------------------------------------------------------------- (2) settings


def _mreg_variables() -> Iterator[tuple[str, str]]:
    files = [p for p in DEPLOY.rglob("*") if p.is_file()] + [ROOT / ".dockerignore"]
    for path in sorted(files):
        for name in MREG_VAR.findall(path.read_text()):
            yield str(path.relative_to(ROOT)), name


def test_every_mreg_variable_is_a_setting() -> None:
    fields = {f"MREG_{name.upper()}" for name in Settings.model_fields}
    named = list(_mreg_variables())
    assert named, "deploy/ names no MREG_ variable at all?"
    unknown = sorted({f"{name} (in {where})" for where, name in named if name not in fields})
    assert not unknown, f"not fields of services.common.settings.Settings: {unknown}"


def test_configmap_and_secret_keys_are_settings_or_aws_credentials() -> None:
    fields = {f"MREG_{name.upper()}" for name in Settings.model_fields}
    aws = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
    env_sources = [*_of_kind("ConfigMap"), *_of_kind("Secret")]
    for obj in env_sources:
        if obj["metadata"]["name"] == "mreg-tokens":  # mounted as a file, not env
            continue
        keys = set(obj.get("data", {})) | set(obj.get("stringData", {}))
        unknown = sorted(keys - fields - aws)
        assert not unknown, f"{obj['kind']} {obj['metadata']['name']}: unknown keys {unknown}"
    secret_keys = {k for s in _of_kind("Secret") for k in s.get("stringData", {})}
    assert {"MREG_DATABASE_URL", "MREG_SERVICE_TOKEN"} | aws <= secret_keys
    assert not {"MREG_DATABASE_URL", "MREG_SERVICE_TOKEN"} & set(_configmap())


def test_settings_in_deploy_are_valid_values() -> None:
    """The ConfigMap and the compose environment build a Settings without error."""
    compose_env = _compose()["services"]["gateway"]["environment"]
    for env in (_configmap(), compose_env):
        values = {
            key.removeprefix("MREG_").lower(): value
            for key, value in env.items()
            if key.startswith("MREG_")
        }
        Settings(**values)


# --------------------------------------------------------------------------- (3) commands


def test_the_deployment_runs_exactly_the_expected_commands() -> None:
    assert set(_commands().values()) == EXPECTED_COMMANDS


@pytest.mark.parametrize("command", sorted(EXPECTED_COMMANDS), ids=" ".join)
def test_every_command_is_a_module_with_a_main(command: tuple[str, ...]) -> None:
    module, *arguments = command
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{module} is not importable"
    main = importlib.util.find_spec(f"{module}.__main__")
    assert main is not None and main.origin, f"{module} has no __main__ (python -m {module})"
    source = Path(main.origin).read_text()
    for argument in arguments:
        assert re.search(rf"""["']{re.escape(argument)}["']""", source), (
            f"{module}.__main__ does not know the command {argument!r}"
        )


# --------------------------------------------------------------------------- (4) probes, ports


def test_deployment_probes_and_ports_match_the_services() -> None:
    configmap = _configmap()
    seen = set()
    for deployment in _of_kind("Deployment"):
        (container,) = _pod_spec(deployment)["containers"]
        (module,) = container["args"]
        full_name, listen_variable = SERVICES[module]
        seen.add(module)
        port = _port(configmap[listen_variable])
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["grpc"] == port, f"{module}: containerPort vs {listen_variable}"
        assert ports["metrics"] == int(configmap["MREG_METRICS_PORT"])
        for probe in ("readinessProbe", "livenessProbe"):
            grpc_probe = container[probe]["grpc"]
            assert grpc_probe["port"] == port, f"{module} {probe} port"
            assert grpc_probe["service"] == full_name, f"{module} {probe} service"
    assert seen == set(SERVICES)


def test_services_and_peer_addresses_agree_with_the_listen_ports() -> None:
    configmap = _configmap()
    services = {s["metadata"]["name"]: s for s in _of_kind("Service")}
    deployments = {d["metadata"]["name"]: d for d in _of_kind("Deployment")}
    for name, service in services.items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), name
        (container,) = _pod_spec(deployments[name])["containers"]
        listen_variable = SERVICES[container["args"][0]][1]
        (grpc_port,) = [p for p in service["spec"]["ports"] if p["name"] == "grpc"]
        assert grpc_port["port"] == _port(configmap[listen_variable]), name
    for peer, listen_variable in (
        ("MREG_ARTIFACTS_ADDRESS", "MREG_ARTIFACTS_LISTEN"),
        ("MREG_METADATA_ADDRESS", "MREG_METADATA_LISTEN"),
    ):
        host, port = configmap[peer].rsplit(":", 1)
        assert host in services, f"{peer} names no Service"
        assert int(port) == _port(configmap[listen_variable]), peer


def test_compose_health_checks_ask_for_each_service_by_name() -> None:
    services = _compose()["services"]
    for module, (full_name, listen_variable) in SERVICES.items():
        name = module.removeprefix("services.")
        service = services[name]
        check = " ".join(service["healthcheck"]["test"])
        assert f"service='{full_name}'" in check, name
        assert listen_variable in check, name
        port = _port(service["environment"][listen_variable])
        assert f"{port}:{port}" in " ".join(service.get("ports", [])) or name == "metadata"


# --------------------------------------------------------------------------- (5) entry point


def _health(port: int, service: str) -> int:
    with insecure_channel(f"127.0.0.1:{port}") as channel:
        request = health_pb2.HealthCheckRequest(service=service)
        return health_pb2_grpc.HealthStub(channel).Check(request, timeout=1).status


def _start_peers(env: dict[str, str]) -> list[subprocess.Popen]:
    """Metadata and artifact processes for a gateway under ``env`` (which then names them):
    the gateway reports SERVING only once it reaches both."""
    subprocess.run(
        [sys.executable, "-m", "services.metadata", "migrate"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    peers = []
    for name in ("metadata", "artifacts"):
        address = f"127.0.0.1:{free_port()}"
        peer_env = {**env, f"MREG_{name.upper()}_LISTEN": address}
        env[f"MREG_{name.upper()}_ADDRESS"] = address
        peers.append(
            subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"],
                env=peer_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return peers


def test_the_image_entry_point_starts_reports_serving_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    command = _image_command()
    assert command[:2] == ["python", "-m"]
    module = command[2]
    full_name, listen_variable = SERVICES[module]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MREG_")}
    env.update({k: v for k, v in _dockerfile_env().items() if k.startswith("MREG_")})
    env.update({"MREG_DATA_DIR": str(tmp_path), listen_variable: f"127.0.0.1:{port}"})
    env.update(
        {f"MREG_{n}_HTTP_LISTEN": f"127.0.0.1:{free_port()}" for n in ("GATEWAY", "ARTIFACTS")}
    )
    peers = _start_peers(env) if module == "services.gateway" else []
    process = subprocess.Popen(
        [sys.executable, *command[1:]],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # Three processes starting cold in a fresh clone (every module compiled first, both
        # databases migrated) took over 10 s on CI's 2 cores; SERVING must come, not fast.
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status = _health(port, full_name)
            except grpc.RpcError:
                time.sleep(0.1)
                continue
            if status == health_pb2.HealthCheckResponse.SERVING:
                break
        assert status == health_pb2.HealthCheckResponse.SERVING, (
            f"{' '.join(command)} did not report SERVING (exit {process.poll()})"
        )
        assert _health(port, "") == health_pb2.HealthCheckResponse.SERVING

        # The compose health check of this service, run as compose would run it.
        service = _compose()["services"][module.removeprefix("services.")]
        check = service["healthcheck"]["test"]
        assert check[:2] == ["CMD", "python"]
        probe = subprocess.run(
            [sys.executable, *check[2:]], env=env, capture_output=True, text=True, timeout=10
        )
        assert probe.returncode == 0, probe.stderr

        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=10)
        assert process.returncode == 0, output.decode(errors="replace")
    finally:
        for running in (process, *peers):
            if running.poll() is None:
                running.kill()
                running.wait()
