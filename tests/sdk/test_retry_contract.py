"""The SDK retries only what the proto says is safe to repeat, long enough to ride out a
database restart, and says how long it tried when it gives up."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from modelregistry.metadata.v1 import metadata_pb2, metadata_pb2_grpc
from modelregistry.v1 import artifacts_pb2, registry_pb2, resources_pb2
from mreg.cli import main
from mreg.client import _REGISTRY_RULES, Client
from mreg.errors import FailedPreconditionError, InvalidArgumentError, UnavailableError
from mreg.retry import rules_of
from services.common.server import insecure_channel
from tests.conftest import free_port
from tests.sdk.lossy_proxy import LOST, LossyProxy


def test_the_retry_rule_comes_from_the_proto_descriptors() -> None:
    rules = _REGISTRY_RULES
    reads = [n for n, r in rules.items() if r.idempotent]
    assert {"ResolveModelVersion", "GetModel", "ListEvaluations", "GetServerInfo"} <= set(reads)
    assert {"ReportDeployment", "CreateLineageEdge"} <= set(reads)  # marked IDEMPOTENT
    with_ids = {n for n, r in rules.items() if r.has_request_id}
    assert with_ids == {
        "RegisterModelVersion",
        "CreateEvaluation",
        "PromoteModelVersion",
        "ApprovePromotion",
    }
    never = {n for n, r in rules.items() if not r.idempotent and not r.has_request_id}
    assert {"SetAlias", "RejectPromotion", "WithdrawPromotion", "RollbackProduction"} <= never
    # A write with a request id is retried only when the request carries one.
    rule = rules["CreateEvaluation"]
    assert not rule.retryable(registry_pb2.PromoteModelVersionRequest())
    request = rule.prepare(registry_pb2.PromoteModelVersionRequest())
    assert re.fullmatch(r"[0-9a-f-]{36}", request.request_id) and rule.retryable(request)
    assert rule.prepare(request).request_id == request.request_id  # kept for every attempt
    artifact_rules = rules_of(artifacts_pb2.DESCRIPTOR.services_by_name["ArtifactService"])
    assert artifact_rules["GetTree"].idempotent and not artifact_rules["CommitTree"].idempotent


def test_giving_up_says_how_long_it_tried_and_how_often() -> None:
    port = free_port()
    with (
        Client(f"127.0.0.1:{port}", timeout=1.5) as client,
        pytest.raises(UnavailableError) as info,
    ):
        client.get_model("m")
    message = info.value.message
    match = re.fullmatch(
        rf"cannot reach the registry at 127\.0\.0\.1:{port}: .+ \(gave up after (\d+) "
        r"attempts over (\d+\.\d) s, the call's deadline; a longer timeout waits longer\)",
        message,
    )
    assert match, message
    assert int(match[1]) >= 3 and 1.4 <= float(match[2]) <= 3.0


@pytest.fixture
def proxied(embedded_registry, tmp_path: Path):
    """A client whose gateway calls pass a proxy that can lose their responses."""
    proxy = LossyProxy(embedded_registry.address(embedded_registry.gateway), set())
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights" * 1000)
    with Client(proxy.address, timeout=30) as client:
        client.push(model, model="lossy", version="1.0.0", use_cache=False)
        yield client, proxy
    proxy.close()


def test_a_lost_evaluation_response_is_retried_and_recorded_once(proxied) -> None:
    client, proxy = proxied
    proxy.lose = {"CreateEvaluation"}
    recorded = client.evaluate("lossy:1.0.0", dataset="holdout@1", metrics={"auc": 0.93})
    assert proxy.calls["CreateEvaluation"] == 2
    assert [e.name for e in client.evaluations("lossy:1.0.0")] == [recorded.name]


def test_a_lost_promotion_response_is_retried_and_promotes_once(proxied) -> None:
    client, proxy = proxied
    proxy.lose = {"PromoteModelVersion"}
    response = client.promote("lossy:1.0.0", "staging", reason="ready")
    assert proxy.calls["PromoteModelVersion"] == 2
    assert response.model_version.stage == resources_pb2.STAGE_STAGING
    promotions = client.promotions("lossy")
    assert [p.name for p in promotions] == [response.promotion.name]
    assert promotions[0].state == response.promotion.state
    moves = [t for t in client.history("lossy:1.0.0") if t.to_stage == resources_pb2.STAGE_STAGING]
    assert len(moves) == 1


def test_a_promotion_request_id_reused_for_another_request_is_invalid(proxied) -> None:
    client, _ = proxied
    first = client.promote("lossy:1.0.0", "staging", request_id="promo-1")
    with pytest.raises(InvalidArgumentError) as info:
        client.promote("lossy:1.0.0", "production", request_id="promo-1")
    assert info.value.message == (
        "request_id: request id 'promo-1' was already used for a different request (it "
        f"created '{first.promotion.name}'); use a new request id for a new promotion"
    )
    assert len(client.promotions("lossy")) == 1


def test_a_non_idempotent_call_without_a_request_id_is_not_retried(proxied) -> None:
    client, proxy = proxied
    proxy.lose = {"SetAlias"}
    with pytest.raises(UnavailableError) as info:
        client.set_alias("lossy:1.0.0", "champion")
    assert proxy.calls["SetAlias"] == 1
    assert info.value.message == (
        f"cannot reach the registry at {proxy.address}: {LOST} (SetAlias was not retried: "
        "it is not idempotent and carries no request id; check whether it took effect "
        "before repeating it)"
    )


def test_a_repeat_finishes_an_approved_promotion_and_reports_a_failed_one(
    embedded_registry, proxied
) -> None:
    client, _ = proxied
    with insecure_channel(embedded_registry.address(embedded_registry.metadata)) as channel:
        metadata = metadata_pb2_grpc.MetadataServiceStub(channel)

        def record(request_id: str, target: int) -> resources_pb2.Promotion:
            # What a first request leaves behind when it stops after recording its promotion.
            return metadata.CreatePromotion(
                metadata_pb2.CreatePromotionRequest(
                    model_version="models/lossy/versions/1.0.0",
                    target_stage=target,
                    reason="ready",
                    request_id=request_id,
                ),
                timeout=10,
            ).promotion

        approved = record("promo-approved", resources_pb2.STAGE_STAGING)
        finished = client.promote(
            "lossy:1.0.0", "staging", reason="ready", request_id="promo-approved"
        )
        assert finished.promotion.name == approved.name
        assert finished.promotion.state == resources_pb2.PROMOTION_STATE_COMPLETED
        assert finished.model_version.stage == resources_pb2.STAGE_STAGING

        failed = record("promo-failed", resources_pb2.STAGE_PRODUCTION)
        metadata.SetPromotionState(
            metadata_pb2.SetPromotionStateRequest(
                name=failed.name,
                state=resources_pb2.PROMOTION_STATE_FAILED,
                status_message="the gates no longer pass",
            ),
            timeout=10,
        )
    with pytest.raises(FailedPreconditionError) as info:
        client.promote("lossy:1.0.0", "production", reason="ready", request_id="promo-failed")
    assert info.value.message == (
        f"{failed.name}, created by request id 'promo-failed', failed: the gates no longer "
        "pass; use a new request id to try again"
    )
    assert info.value.reason == "PROMOTION_FAILED"


def _pull_loop(reference: str, gateway: str, dest: Path, stop: threading.Event, out: list):
    i = 0
    while not stop.is_set() or i == 0:
        i += 1
        out.append(main(["pull", reference, str(dest / str(i)), "--gateway", gateway, "--json"]))


def test_reads_and_mreg_pull_ride_out_a_postgres_restart(
    postgres_database_factory, tmp_path: Path, start_server, caplog, capsys
) -> None:
    from tests.gateway.test_postgres_restart import _restart_postgres

    if not Path("/etc/postgresql").is_dir():
        pytest.skip("needs the local PostgreSQL cluster (pg_ctlcluster) to restart it")
    from services.artifacts.app import build_bindings as artifact_bindings
    from services.common.settings import Settings
    from services.gateway.app import build_bindings as gateway_bindings
    from services.metadata.app import build_bindings as metadata_bindings
    from services.metadata.app import migrate

    database = postgres_database_factory()
    migrate(database)
    base = Settings(data_dir=tmp_path, database_url=database, resolve_cache_poll_seconds=0)
    metadata = start_server(*metadata_bindings(base))
    artifacts = start_server(*artifact_bindings(base))
    peers = {"metadata_address": metadata, "artifacts_address": artifacts}
    gateway = start_server(*gateway_bindings(base.model_copy(update=peers)))
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights" * 1000)
    with Client(gateway, timeout=30) as client:
        client.push(model, model="steady", version="1.0.0", use_cache=False)

    caplog.set_level("DEBUG", logger="mreg.retry")
    stop = threading.Event()
    failures: list[str] = []
    reads = [0]

    def burst() -> None:
        with Client(gateway, timeout=30) as client:
            while not stop.is_set():
                try:
                    assert client.resolve("steady:1.0.0").version == "1.0.0"
                    client.list_versions("steady")
                    reads[0] += 1
                except Exception as error:  # every failure is reported
                    failures.append(repr(error))

    codes: list[int] = []
    threads = [threading.Thread(target=burst) for _ in range(3)]
    threads.append(
        threading.Thread(
            target=_pull_loop, args=("steady:1.0.0", gateway, tmp_path / "pulls", stop, codes)
        )
    )
    for thread in threads:
        thread.start()
    try:
        _restart_postgres()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    capsys.readouterr()
    assert failures == []
    assert codes and set(codes) == {0}
    assert reads[0] > 0
    retried = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert retried, "no call met the restart: the test proved nothing"
