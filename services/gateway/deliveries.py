"""The gateway's webhook delivery worker.

One thread claims due deliveries from the metadata service with a lease
(``ClaimWebhookDeliveries``: only each webhook's oldest pending delivery, so a webhook's
events go out in commit order, and each to one gateway at a time), and a pool of
``concurrency`` threads sends them: a POST of the event as a CloudEvent (structured JSON)
with the Standard Webhooks headers (signing.py), bounded by ``timeout`` seconds in total, no
redirects followed. A 2xx answer records the delivery DELIVERED; anything else (another
status, a timeout, a refused or closed connection, a target that now resolves to a
forbidden address) schedules a retry after an exponential backoff with jitter, until the
delivery is ``max_age`` seconds old: then it is PARKED for a person to look at and
redeliver. Outcomes go with the next claim (one call, one transaction), and count only
while the worker still holds the lease. A gateway
killed mid-attempt leaves the lease to expire; the next claim sends the delivery again
with the same ``webhook-id``, so receivers can drop the repeat.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from prometheus_client import Counter

from modelregistry.metadata.v1 import metadata_pb2
from modelregistry.v1 import resources_pb2
from services.common.cloudevents import CONTENT_TYPE, cloudevent_json, default_source
from services.common.errors import RegistryError
from services.common.vocabulary import VERSION
from services.gateway import signing
from services.gateway.peers import Peers
from services.gateway.targets import (
    check_target,
    checked_transport,
    forbidden,
    total_deadline,
)

logger = logging.getLogger(__name__)

ATTEMPTS = Counter(
    "mreg_gateway_webhook_attempts_total", "Webhook delivery attempts by outcome", ["outcome"]
)
PENDING = resources_pb2.WEBHOOK_DELIVERY_STATE_PENDING
DELIVERED = resources_pb2.WEBHOOK_DELIVERY_STATE_DELIVERED
PARKED = resources_pb2.WEBHOOK_DELIVERY_STATE_PARKED
#: Most outcomes sent with one claim (the metadata service's limit).
MAX_OUTCOMES = 1000
#: Longest wait between claims while the metadata service cannot be reached.
MAX_CLAIM_BACKOFF = 5.0
#: Most of a receiver's answer read (the rest is dropped with the connection).
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class DeliveryPolicy:
    """How the worker sends and retries (MREG_WEBHOOKS_* settings)."""

    timeout: float = 10.0
    lease_seconds: int = 60
    concurrency: int = 32
    poll_seconds: float = 0.2
    initial_backoff: float = 1.0
    max_backoff: float = 600.0
    max_age: float = 86400.0
    allow_private_targets: bool = False
    source: str = ""

    def backoff(self, attempts: int) -> float:
        """Seconds before the next attempt after ``attempts`` failed ones: doubling from
        ``initial_backoff`` up to ``max_backoff``, the upper half of it at random (jitter,
        so receivers coming back are not hit by every retry at once)."""
        ceiling = min(self.max_backoff, self.initial_backoff * 2 ** max(0, attempts - 1))
        return ceiling / 2 + random.random() * ceiling / 2


@dataclass(frozen=True)
class Outcome:
    """What one attempt ended in."""

    delivered: bool
    status_code: int = 0
    error: str = ""


class DeliveryWorker:
    """Claims deliveries with a lease and sends them; start with the gateway, stop with it."""

    def __init__(self, peers: Peers, policy: DeliveryPolicy, owner: str = "") -> None:
        self.peers = peers
        self.policy = policy
        self.owner = owner or f"gateway-{uuid.uuid4().hex[:16]}"
        self.source = policy.source or default_source()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._failures = 0  # claims that failed in a row (they back off)
        #: Outcomes of finished attempts, recorded with the next claim.
        self._outcomes: list[metadata_pb2.RecordWebhookDeliveryAttemptRequest] = []
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(policy.concurrency, thread_name_prefix="mreg-webhook")
        limits = httpx.Limits(max_connections=policy.concurrency)
        refuse = (lambda address: False) if policy.allow_private_targets else forbidden
        self._http = httpx.Client(
            transport=checked_transport(limits, refuse=refuse),
            timeout=httpx.Timeout(policy.timeout),
            follow_redirects=False,
            # HTTP(S)_PROXY from the environment would connect elsewhere than the address
            # the target check passed.
            trust_env=False,
            headers={"user-agent": f"mreg-webhooks/{VERSION}"},
            limits=limits,
        )

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mreg-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop claiming, let attempts in flight finish (each bounded by the timeout) and
        record their outcomes. Idempotent: the gateway's stop and the hub's (this is one
        of its listeners) both call it."""
        if self._stop.is_set():
            return
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(self.policy.timeout + 5)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()
        self._claim(0)  # what finished since the last claim

    def wake(self) -> None:
        """Claim now (new events were committed, or a delivery finished)."""
        self._wake.set()

    # -- EventListener (the hub's outbox reader wakes the worker on new events) --------
    def on_events(self, events: Any) -> None:
        self.wake()

    def on_outbox(self, readable: bool) -> None:
        """Nothing to do: claims go to the metadata service directly."""

    # -- claim loop -------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            with self._lock:
                free = self.policy.concurrency - self._in_flight
            claimed = self._claim(free)
            for item in claimed:
                with self._lock:
                    self._in_flight += 1
                self._pool.submit(self._attempt, item)
            if not claimed:
                self._wake.wait(self.policy.poll_seconds)

    def _claim(self, limit: int) -> list[metadata_pb2.ClaimedWebhookDelivery]:
        """Record the outcomes of finished attempts and claim up to ``limit`` deliveries,
        in one call (one transaction): a delivered head frees its webhook's next delivery
        for this same claim."""
        with self._lock:
            outcomes, self._outcomes = self._outcomes[:MAX_OUTCOMES], self._outcomes[MAX_OUTCOMES:]
        if not outcomes and limit <= 0:
            return []
        try:
            response = self.peers.metadata.call(
                "ClaimWebhookDeliveries",
                metadata_pb2.ClaimWebhookDeliveriesRequest(
                    owner=self.owner,
                    lease_seconds=self.policy.lease_seconds,
                    limit=max(limit, 0),
                    outcomes=outcomes,
                ),
                timeout=10,
            )
        except RegistryError as error:
            # Kept for the next claim; if the lease ends first, the delivery is sent
            # again (same webhook-id) and this outcome is not recorded.
            with self._lock:
                self._outcomes[:0] = outcomes
            self._failures += 1
            wait = min(MAX_CLAIM_BACKOFF, self.policy.poll_seconds * 2**self._failures)
            logger.warning("cannot claim webhook deliveries (retrying in %.1f s): %s", wait, error)
            self._stop.wait(wait)
            return []
        self._failures = 0
        if response.recorded < len(outcomes):
            logger.info(
                "%d webhook outcome(s) not recorded: their lease was lost",
                len(outcomes) - response.recorded,
            )
        return list(response.deliveries)

    # -- one attempt ------------------------------------------------------------------
    def _attempt(self, item: metadata_pb2.ClaimedWebhookDelivery) -> None:
        try:
            outcome = self._outcome(item, self.send(item))
            with self._lock:
                self._outcomes.append(outcome)
        except Exception:
            logger.exception("webhook delivery %s failed unexpectedly", item.delivery.name)
        finally:
            with self._lock:
                self._in_flight -= 1
            self.wake()

    def send(self, item: metadata_pb2.ClaimedWebhookDelivery) -> Outcome:
        """POST one delivery; what it ended in."""
        body = cloudevent_json(item.event, self.source)
        headers = {
            "content-type": CONTENT_TYPE,
            **signing.headers(item.secret, item.delivery.id, int(time.time()), body),
        }
        try:
            check_target(item.url, self.policy.allow_private_targets, field="url")
            # Only the status matters: up to MAX_ANSWER_BYTES of the answer are read (a
            # whole small answer keeps the connection for the next delivery), never more.
            with (
                total_deadline(self.policy.timeout),
                self._http.stream("POST", item.url, content=body, headers=headers) as response,
            ):
                status = response.status_code
                read = 0
                for chunk in response.iter_raw():
                    read += len(chunk)
                    if read > MAX_ANSWER_BYTES:
                        break
        except RegistryError as error:
            return Outcome(False, error=error.message)
        except httpx.TimeoutException:
            return Outcome(False, error=f"no answer within {self.policy.timeout:g} s")
        except httpx.TransportError as error:
            return Outcome(False, error=f"{type(error).__name__}: {error}"[:500])
        if 200 <= status < 300:
            return Outcome(True, status)
        return Outcome(False, status, f"HTTP {status}")

    def _outcome(
        self, item: metadata_pb2.ClaimedWebhookDelivery, outcome: Outcome
    ) -> metadata_pb2.RecordWebhookDeliveryAttemptRequest:
        """What to record: DELIVERED, PENDING with the next attempt's time, or PARKED once
        the delivery is older than ``max_age``."""
        delivery = item.delivery
        request = metadata_pb2.RecordWebhookDeliveryAttemptRequest(
            name=delivery.name,
            owner=self.owner,
            status_code=outcome.status_code,
            error=outcome.error,
        )
        now = datetime.now(UTC)
        age = (now - delivery.create_time.ToDatetime(UTC)).total_seconds()
        if outcome.delivered:
            request.state = DELIVERED
            ATTEMPTS.labels("delivered").inc()
        elif age >= self.policy.max_age:
            request.state = PARKED
            ATTEMPTS.labels("parked").inc()
            logger.warning(
                "webhook delivery %s parked after %d attempts: %s",
                delivery.name,
                delivery.attempts,
                outcome.error,
            )
        else:
            request.state = PENDING
            wait = self.policy.backoff(delivery.attempts)
            request.next_attempt_time.FromDatetime(now + timedelta(seconds=wait))
            ATTEMPTS.labels("failed").inc()
            logger.info(
                "webhook delivery %s failed (%s); retry in %.1f s",
                delivery.name,
                outcome.error,
                wait,
            )
        return request
