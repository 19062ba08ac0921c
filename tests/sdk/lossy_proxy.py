"""A gRPC proxy that loses responses: the call reaches the server and is executed, and the
client is told UNAVAILABLE, as when a connection breaks before the answer arrives."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent import futures

import grpc

from services.common.server import insecure_channel

LOST = "connection lost (simulated by the test proxy)"


class LossyProxy(grpc.GenericRpcHandler):
    """Forwards unary calls to ``upstream``; answers UNAVAILABLE once per name in ``lose``,
    after the upstream answered."""

    def __init__(self, upstream: str, lose: set[str]) -> None:
        self.lose = set(lose)
        self.calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._upstream = insecure_channel(upstream)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._server.add_generic_rpc_handlers((self,))
        self.address = f"127.0.0.1:{self._server.add_insecure_port('127.0.0.1:0')}"
        self._server.start()

    def service(self, handler_call_details):
        path = handler_call_details.method
        name = path.rsplit("/", 1)[-1]
        forward = self._upstream.unary_unary(path)

        def handle(request: bytes, context: grpc.ServicerContext) -> bytes:
            with self._lock:
                self.calls[name] += 1
            metadata = [(k, v) for k, v in context.invocation_metadata() if k != "user-agent"]
            try:
                response = forward(request, metadata=metadata, timeout=30)
            except grpc.RpcError as error:
                context.set_trailing_metadata(error.trailing_metadata() or ())
                context.abort(error.code(), error.details())
            with self._lock:
                lost = name in self.lose
                self.lose.discard(name)
            if lost:
                context.abort(grpc.StatusCode.UNAVAILABLE, LOST)
            return response

        return grpc.unary_unary_rpc_method_handler(handle)

    def close(self) -> None:
        """Stop the proxy and close its upstream channel."""
        self._server.stop(None).wait()
        self._upstream.close()
