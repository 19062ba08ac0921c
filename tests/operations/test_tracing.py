"""OpenTelemetry: one trace follows a call from the gateway into the metadata service.

Runs in a subprocess because the gRPC instrumentation patches grpc for the whole process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
import json, sys
from pathlib import Path
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from services.common.settings import Settings
from services.common.tracing import configure_tracing

exporter = InMemorySpanExporter()
assert configure_tracing("embedded", Settings(), exporter=exporter)

from modelregistry.v1 import registry_pb2, registry_pb2_grpc
from services.common.server import insecure_channel
from services.embedded import build_embedded

registry = build_embedded(Path(sys.argv[1]), gateway_port=0, artifacts_port=0, metadata_port=0)
for server in registry.servers:
    server.start()
with insecure_channel(registry.address(registry.gateway)) as channel:
    stub = registry_pb2_grpc.RegistryServiceStub(channel)
    try:
        stub.GetModel(registry_pb2.GetModelRequest(name="models/traced"), timeout=10)
    except Exception:
        pass
for server in registry.servers:
    server.stop(None)
print(json.dumps([
    {"name": s.name, "trace": s.context.trace_id, "kind": s.kind.name,
     "service": s.resource.attributes.get("service.name")}
    for s in exporter.get_finished_spans()
]))
"""


def test_a_gateway_call_and_its_metadata_call_share_one_trace(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    spans = json.loads(result.stdout.strip().splitlines()[-1])
    by_name = {(s["name"], s["kind"]): s for s in spans}
    gateway = by_name[("/modelregistry.v1.RegistryService/GetModel", "SERVER")]
    outgoing = by_name[("/modelregistry.metadata.v1.MetadataService/GetModel", "CLIENT")]
    metadata = by_name[("/modelregistry.metadata.v1.MetadataService/GetModel", "SERVER")]
    assert gateway["trace"] == outgoing["trace"] == metadata["trace"]
    assert gateway["service"] == "mreg-embedded"
