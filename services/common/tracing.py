"""OpenTelemetry tracing of RPCs across the services, on when an exporter is configured.

``MREG_OTEL_EXPORTER=otlp`` sends spans to an OTLP/gRPC collector at
``MREG_OTEL_ENDPOINT`` (for example ``http://otel-collector:4317``); ``console`` prints
them. The gRPC instrumentation traces every server RPC and every call one service makes
to another, propagating the trace context in request metadata, so a registration shows
as one trace through gateway, artifact and metadata services.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from services.common.settings import Settings

if TYPE_CHECKING:  # imported when tracing is configured, not by every process
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger(__name__)

_configured = False


def configure_tracing(
    service: str, settings: Settings, exporter: SpanExporter | None = None
) -> bool:
    """Install a tracer provider and the gRPC instrumentation; returns whether tracing is on.

    Must run before servers and channels are created. ``exporter`` overrides the
    configured one (tests pass an in-memory exporter).
    """
    global _configured
    if _configured or (exporter is None and not settings.otel_exporter):
        return _configured
    from opentelemetry import trace
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorServer,
        GrpcInstrumentorClient,
        GrpcInstrumentorServer,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    provider = TracerProvider(resource=Resource.create({"service.name": f"mreg-{service}"}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif settings.otel_exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        otlp = OTLPSpanExporter(endpoint=settings.otel_endpoint or None)
        provider.add_span_processor(BatchSpanProcessor(otlp))
    trace.set_tracer_provider(provider)
    GrpcInstrumentorServer().instrument()
    GrpcAioInstrumentorServer().instrument()  # the gateway is served by grpc.aio
    GrpcInstrumentorClient().instrument()
    _configured = True
    logger.info("tracing RPCs to %s", settings.otel_exporter or "a test exporter")
    return True
