"""Clients of the two services behind the gateway, with errors translated once, here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import grpc

from modelregistry.metadata.v1 import metadata_pb2_grpc
from modelregistry.v1 import artifacts_pb2_grpc
from services.common.auth import MODEL_PREFIX_HEADER
from services.common.errors import from_rpc_error
from services.common.observability import PRINCIPAL_HEADER, REQUEST_ID_HEADER, current_request_id
from services.common.server import open_channel

T = TypeVar("T")


class Peer:
    """One backend service: its stub, its name for error messages and a call deadline."""

    def __init__(
        self,
        label: str,
        address: str,
        stub_type: Callable[[grpc.Channel], Any],
        credentials: grpc.ChannelCredentials | None = None,
        service_token: str = "",
    ) -> None:
        self.label = f"{label} at {address}"
        self.auth = (("authorization", f"Bearer {service_token}"),) if service_token else ()
        self.channel = open_channel(address, credentials)
        self.stub = stub_type(self.channel)

    def call(
        self,
        method: str,
        request: Any,
        *,
        principal: str = "",
        model_prefix: str = "",
        timeout: float = 30.0,
    ) -> Any:
        """Call ``method`` on the stub; a failure becomes a :class:`RegistryError`.

        ``model_prefix`` makes the peer answer as it would the caller's prefix-limited token.
        """
        try:
            return getattr(self.stub, method)(
                request, timeout=timeout, metadata=self._metadata(principal, model_prefix)
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error, peer=self.label) from None

    def call_stream(
        self, method: str, request: Any, *, principal: str = "", timeout: float = 600.0
    ) -> Iterator[Any]:
        """Iterate a server-streaming ``method``; a failure becomes a :class:`RegistryError`."""
        try:
            yield from getattr(self.stub, method)(
                request, timeout=timeout, metadata=self._metadata(principal)
            )
        except grpc.RpcError as error:
            raise from_rpc_error(error, peer=self.label) from None

    def _metadata(self, principal: str, model_prefix: str = "") -> list[tuple[str, str]]:
        metadata = [*self.auth, (REQUEST_ID_HEADER, current_request_id())]
        if principal:
            metadata.append((PRINCIPAL_HEADER, principal))
        if model_prefix:
            metadata.append((MODEL_PREFIX_HEADER, model_prefix))
        return metadata

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()


class Peers:
    """The artifact and metadata services as the gateway sees them."""

    def __init__(
        self,
        artifacts_address: str,
        metadata_address: str,
        credentials: grpc.ChannelCredentials | None = None,
        service_token: str = "",
    ) -> None:
        self.artifacts = Peer(
            "artifact service",
            artifacts_address,
            artifacts_pb2_grpc.ArtifactServiceStub,
            credentials,
            service_token,
        )
        self.metadata = Peer(
            "metadata service",
            metadata_address,
            metadata_pb2_grpc.MetadataServiceStub,
            credentials,
            service_token,
        )

    def close(self) -> None:
        """Close both channels."""
        self.artifacts.close()
        self.metadata.close()
