"""Retries by contract: only calls that are safe to repeat, bounded by the call's deadline.

What may be retried is read once from the proto descriptors, never from a list kept by
hand: a method is retried when its ``idempotency_level`` is ``NO_SIDE_EFFECTS`` or
``IDEMPOTENT``, or when it is a write whose request message has a ``request_id`` field
and the request carries one (the server then answers a repeat with the first result).
The SDK fills empty request ids itself, once per call, so every attempt of a call sends
the same id.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.descriptor_pb2 import MethodOptions

from mreg.errors import MregError, from_rpc_error

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Codes worth retrying: the server was unreachable, or a conflict that may clear.
TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.ABORTED})
_SAFE_LEVELS = frozenset({MethodOptions.NO_SIDE_EFFECTS, MethodOptions.IDEMPOTENT})


@dataclass(frozen=True)
class RetryRule:
    """Whether calls of one RPC may be repeated, from its descriptor."""

    method: str
    #: Marked ``NO_SIDE_EFFECTS`` or ``IDEMPOTENT`` in the proto.
    idempotent: bool
    #: A write whose request message has a ``request_id`` field (an idempotency key).
    has_request_id: bool

    @classmethod
    def of(cls, method: MethodDescriptor) -> RetryRule:
        """The rule of one RPC."""
        field = method.input_type.fields_by_name.get("request_id")
        idempotent = method.GetOptions().idempotency_level in _SAFE_LEVELS
        return cls(
            method.name,
            idempotent=idempotent,
            # On a read, a request_id field is a filter, not an idempotency key.
            has_request_id=not idempotent and field is not None and field.type == field.TYPE_STRING,
        )

    def prepare(self, request: Any) -> Any:
        """Give a request without a request id a fresh one, so its retries reuse it."""
        if self.has_request_id and not request.request_id:
            request.request_id = str(uuid.uuid4())
        return request

    def retryable(self, request: Any) -> bool:
        """Whether this request may be sent again after a transient failure."""
        return self.idempotent or (self.has_request_id and bool(request.request_id))


def rules_of(service: ServiceDescriptor) -> dict[str, RetryRule]:
    """The retry rule of every RPC of a service, by method name."""
    return {m.name: RetryRule.of(m) for m in service.methods}


def call_with_retry(
    call: Callable[[float], T],
    *,
    deadline: float,
    retry: bool = True,
    what: str = "the call",
    initial_backoff: float = 0.1,
    max_backoff: float = 2.0,
    retry_on: frozenset[grpc.StatusCode] = TRANSIENT,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``call(timeout)`` until it succeeds, fails for good or ``deadline`` seconds pass.

    ``call`` gets the time left as its timeout. With ``retry``, transient failures are
    retried with exponential backoff (and jitter) until the deadline, long enough to
    ride out a database restart; the error raised on giving up says how long it tried and
    how often. Without ``retry`` (a call that is not safe to repeat) the first failure is
    raised, saying that it was not retried. Errors are raised as typed
    :class:`~mreg.errors.MregError`.
    """
    start = clock()
    end = start + deadline
    backoff = initial_backoff
    attempt = 0
    transient: MregError | None = None
    while True:
        attempt += 1
        left = end - clock()
        try:
            return call(max(left, 0.001))
        except grpc.RpcError as error:
            typed: MregError = from_rpc_error(error)
        left = end - clock()
        if typed.code not in retry_on:
            if transient is not None and typed.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                # The deadline cut the last retry short: the failure worth reporting is
                # the one that made us retry.
                _gave_up(transient, attempt, clock() - start)
                raise transient from None
            raise typed from None
        transient = typed
        if not retry:
            typed.message += (
                f" ({what} was not retried: it is not idempotent and carries no request id; "
                "check whether it took effect before repeating it)"
            )
            raise typed from None
        if left <= 0:
            _gave_up(typed, attempt, clock() - start)
            raise typed from None
        pause = min(random.uniform(backoff / 2, backoff), left)
        logger.debug("attempt %d failed with %s; retrying in %.2fs", attempt, typed.code, pause)
        sleep(pause)
        backoff = min(backoff * 2, max_backoff)


def _gave_up(error: MregError, attempts: int, seconds: float) -> None:
    error.message += (
        f" (gave up after {attempts} attempt{'s' if attempts != 1 else ''} over {seconds:.1f} s, "
        "the call's deadline; a longer timeout waits longer)"
    )
