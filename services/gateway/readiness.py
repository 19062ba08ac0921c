"""The gateway's health tells the truth: SERVING only while both peers answer SERVING.

A daemon thread asks the metadata and artifact services' health service every
``interval`` seconds (over the gateway's own channels to them) and sets the gateway's
health to match, so a gateway reports NOT_SERVING until it can reach both, and again as
soon as it loses one.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.gateway.peers import Peer, Peers

logger = logging.getLogger(__name__)


def peer_serving(peer: Peer, timeout: float = 2.0) -> bool:
    """Whether ``peer`` answers its health check with SERVING."""
    try:
        response = health_pb2_grpc.HealthStub(peer.channel).Check(
            health_pb2.HealthCheckRequest(), timeout=timeout, metadata=peer.auth
        )
    except grpc.RpcError:
        return False
    return response.status == health_pb2.HealthCheckResponse.SERVING


class PeerHealth:
    """Keeps a running server's health in step with its peers'."""

    def __init__(self, peers: Peers, running: Any, interval: float = 1.0) -> None:
        self.peers = peers
        self.running = running
        self.interval = interval
        self.serving: bool | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peer-health", daemon=True)

    def check_once(self) -> bool:
        serving = peer_serving(self.peers.metadata) and peer_serving(self.peers.artifacts)
        if serving != self.serving and not self._stop.is_set():
            self.running.set_serving(serving)
            if self.serving is not None or not serving:
                logger.log(
                    logging.INFO if serving else logging.WARNING,
                    "gateway %s",
                    "SERVING: both peers answer" if serving else "NOT_SERVING: a peer is lost",
                )
            self.serving = serving
        return serving

    def _run(self) -> None:
        while not self._stop.is_set():
            self.check_once()
            self._stop.wait(self.interval)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
