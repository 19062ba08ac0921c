"""The public contract stands alone.

A client generated from ``registry.proto`` and ``resources.proto`` alone (copied to an
empty folder beside the ``google/api`` HTTP annotations googleapis-common-protos ships,
so an import of anything else fails to compile) talks to a real gateway, in
a Python process that cannot see the repository's generated code. And the methods the
gateway forwards have, on both sides of ``services/gateway/contract.py``, the same shape,
which is what its wire round trip relies on.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import google.api.annotations_pb2
import grpc_tools
import pytest
from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor
from grpc_tools import protoc

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import artifacts_pb2, registry_pb2, resources_pb2
from services.gateway.contract import SAME_SHAPE, to_internal, to_public
from tests.gateway.conftest import upload

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = ("modelregistry/v1/registry.proto", "modelregistry/v1/resources.proto")

#: Run in a fresh interpreter without site (no editable install of the repository), with
#: only the generated public client and the installed grpcio/protobuf on its path.
CLIENT = r"""
import importlib.util, json, sys
import grpc
from google.protobuf import json_format
from modelregistry.v1 import registry_pb2, registry_pb2_grpc, resources_pb2

address, digest_hash, digest_size = sys.argv[1], sys.argv[2], int(sys.argv[3])
stub = registry_pb2_grpc.RegistryServiceStub(grpc.insecure_channel(address))
info = stub.GetServerInfo(registry_pb2.GetServerInfoRequest(), timeout=10)
version = stub.RegisterModelVersion(
    registry_pb2.RegisterModelVersionRequest(
        parent="models/standalone",
        model_version=resources_pb2.ModelVersion(
            version="1.0.0",
            artifact_digest=resources_pb2.Digest(hash=digest_hash, size_bytes=digest_size),
            metrics={"auc": 0.93},
        ),
        request_id="standalone-1",
    ),
    timeout=30,
).model_version
stub.SetAlias(
    registry_pb2.SetAliasRequest(model_version=version.name, alias="champion"), timeout=10
)
resolved = stub.ResolveModelVersion(
    registry_pb2.ResolveModelVersionRequest(reference="standalone@champion"), timeout=10
)
listed = stub.ListModelVersions(
    registry_pb2.ListModelVersionsRequest(parent="models/standalone"), timeout=10
)
try:
    stub.GetModelVersion(
        registry_pb2.GetModelVersionRequest(name="models/standalone/versions/9.9.9"), timeout=10
    )
    missing = "OK"
except grpc.RpcError as error:
    missing = error.code().name
print(json.dumps({
    "modules": [registry_pb2.__file__, resources_pb2.__file__],
    "internal_importable": importlib.util.find_spec("modelregistry.metadata") is not None,
    "imports": sorted(d.name for d in registry_pb2.DESCRIPTOR.dependencies),
    "artifact_service_address": info.artifact_service_address,
    "registered": [version.name, resources_pb2.VersionState.Name(version.state)],
    "resolved": json_format.MessageToDict(resolved.model_version),
    "listed": [v.name for v in listed.model_versions],
    "missing": missing,
}))
"""


@pytest.fixture(scope="module")
def public_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Python code generated from the two public files only."""
    sources = tmp_path_factory.mktemp("public-protos")
    out = tmp_path_factory.mktemp("public-client")
    for name in PUBLIC:
        (sources / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "protos" / name, sources / name)
    # google.api.http annotations: the copies googleapis-common-protos installs (its
    # generated annotations_pb2 is what the generated registry_pb2 imports).
    (sources / "google" / "api").mkdir(parents=True)
    for name in ("annotations.proto", "http.proto"):
        shutil.copy(Path(google.api.annotations_pb2.__file__).parent / name, sources / "google/api")
    well_known = Path(grpc_tools.__file__).parent / "_proto"
    args = [f"-I{sources}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}"]
    assert protoc.main(["protoc", *args, *PUBLIC]) == 0, "the public protos do not compile alone"
    for package in (out / "modelregistry", out / "modelregistry" / "v1"):
        (package / "__init__.py").touch()
    return out


def test_a_client_generated_from_the_public_files_alone_works(
    stack, artifacts, gateway, public_client: Path
) -> None:
    data = b"standalone weights " * 1000
    digest = upload(artifacts, data)
    site = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    result = subprocess.run(
        [sys.executable, "-S", "-c", CLIENT, stack.address("gateway"), digest.hash, str(len(data))],
        cwd=public_client,
        env={"PYTHONPATH": ":".join([str(public_client), *sorted(site)])},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert all(Path(m).is_relative_to(public_client) for m in report["modules"]), report
    assert report["internal_importable"] is False
    assert report["imports"] == [
        "google/api/annotations.proto",
        "google/protobuf/field_mask.proto",
        PUBLIC[1],
    ]
    assert report["artifact_service_address"] == stack.address("artifacts")
    name = "models/standalone/versions/1.0.0"
    assert report["registered"] == [name, "VERSION_STATE_READY"]
    assert report["resolved"]["name"] == name
    assert report["resolved"]["aliases"] == ["champion"]
    assert report["listed"] == [name]
    assert report["missing"] == "NOT_FOUND"
    # The same version read by the repository's own generated code: the same JSON.
    ours = gateway.GetModelVersion(registry_pb2.GetModelVersionRequest(name=name), timeout=10)
    assert report["resolved"] == json_format.MessageToDict(ours.model_version)


def test_the_public_files_import_nothing_internal() -> None:
    allowed = {"modelregistry/v1/resources.proto"}
    for module in (registry_pb2, resources_pb2, artifacts_pb2):
        for dependency in module.DESCRIPTOR.dependencies:
            assert dependency.name in allowed or dependency.name.startswith(
                ("google/protobuf/", "google/api/")
            ), f"{module.DESCRIPTOR.name} imports {dependency.name}"
        assert module.DESCRIPTOR.package == "modelregistry.v1"


def _shape(message: Descriptor) -> list[tuple]:
    """Every field's number, names, type, cardinality and presence, and the type it names
    (a map's entry, which each side declares itself, by its own shape)."""
    return [
        (
            f.number,
            f.name,
            f.json_name,
            f.type,
            f.is_repeated,
            f.has_presence,
            f.enum_type.full_name if f.enum_type else "",
            _named_type(f.message_type) if f.message_type else "",
        )
        for f in message.fields
    ]


def _named_type(message: Descriptor) -> object:
    return tuple(_shape(message)) if message.GetOptions().map_entry else message.full_name


@pytest.mark.parametrize("method", SAME_SHAPE)
def test_forwarded_methods_have_the_same_shape_on_both_sides(method: str) -> None:
    public = registry_pb2.DESCRIPTOR.services_by_name["RegistryService"].methods_by_name[method]
    internal = metadata_pb2.DESCRIPTOR.services_by_name["MetadataService"].methods_by_name[method]
    assert public.input_type.full_name == f"modelregistry.v1.{method}Request"
    assert internal.input_type.full_name == f"modelregistry.metadata.v1.{method}Request"
    assert _shape(public.input_type) == _shape(internal.input_type)
    assert _shape(public.output_type) == _shape(internal.output_type)
    assert public.server_streaming == internal.server_streaming is False


def test_conversion_drops_fields_the_other_side_does_not_know() -> None:
    # Field 99 (varint 1) is in neither GetModelRequest.
    sent = registry_pb2.GetModelRequest.FromString(
        registry_pb2.GetModelRequest(name="models/m").SerializeToString() + b"\x98\x06\x01"
    )
    converted = to_internal("GetModel", sent)
    assert isinstance(converted, metadata_pb2.GetModelRequest)
    assert (
        converted.SerializeToString()
        == metadata_pb2.GetModelRequest(name="models/m").SerializeToString()
    )
    answer = to_public(
        "GetModel", metadata_pb2.GetModelResponse(model=resources_pb2.Model(name="models/m"))
    )
    assert isinstance(answer, registry_pb2.GetModelResponse)
    assert answer.model.name == "models/m"


def test_a_method_of_another_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="map it explicitly"):
        to_internal("PromoteModelVersion", registry_pb2.PromoteModelVersionRequest())
